"""What the wrapper measured of an operation, for the ``.end`` Cinder sends.

In the documented configuration Cinder's backup manager sends
``backup.{create,restore,delete}.end``, not the wrapper, and Cinder puts
no duration in it. The wrapper measures the driver's call and leaves its
figures here; ``MeteredBackupManager`` adds them to the ``.end`` it sends
for the same backup a moment later. Both happen in one manager method
(``continue_backup``, ``restore_backup``, ``delete_backup``), so in one
process: its ``Runtime`` holds them.

It also keeps which failed operations the wrapper has already sent
``.error`` for, so that the manager, which sees every failure, including
those before and around the driver, sends one for the others only.

Bounded: the figures of an operation whose ``.end`` never comes (the
manager failed after the driver succeeded) are forgotten, oldest first.
"""

import collections
import threading

KEPT = 1000


class _Kept:
    """(backup id, operation) -> value, at most KEPT, oldest forgotten."""

    def __init__(self, lock):
        self._lock = lock
        self._values = collections.OrderedDict()

    def put(self, backup_id, operation, value):
        with self._lock:
            self._values[backup_id, operation] = value
            while len(self._values) > KEPT:
                self._values.popitem(last=False)

    def take(self, backup_id, operation, default):
        with self._lock:
            return self._values.pop((backup_id, operation), default)


class Measured:
    """What the wrappers of one process measured, for its manager."""

    def __init__(self):
        lock = threading.Lock()
        self._figures = _Kept(lock)
        self._errors_sent = _Kept(lock)

    def remember(self, backup_id, operation, **figures):
        self._figures.put(backup_id, operation, figures)

    def take(self, backup_id, operation):
        """The figures of that operation, once; {} when none were kept."""
        return self._figures.take(backup_id, operation, {})

    def error_sent(self, backup_id, operation):
        """The wrapper sent that operation's ``.error``."""
        self._errors_sent.put(backup_id, operation, True)

    def take_error_sent(self, backup_id, operation):
        """Whether the wrapper sent that operation's ``.error``, once."""
        return self._errors_sent.take(backup_id, operation, False)
