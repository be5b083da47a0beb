"""What the wrapper measured of an operation, for the ``.end`` Cinder sends.

In the documented configuration Cinder's backup manager sends
``backup.{create,restore,delete}.end``, not the wrapper, and Cinder puts
no duration in it. The wrapper measures the driver's call and leaves its
figures here; ``MeteredBackupManager`` adds them to the ``.end`` it sends
for the same backup a moment later. Both happen in one manager method
(``continue_backup``, ``restore_backup``, ``delete_backup``), so in one
process.

Bounded: the figures of an operation whose ``.end`` never comes (the
manager failed after the driver succeeded) are forgotten, oldest first.
"""

import collections
import threading

KEPT = 1000

_figures = collections.OrderedDict()
_lock = threading.Lock()


def remember(backup_id, operation, **figures):
    with _lock:
        _figures[backup_id, operation] = figures
        while len(_figures) > KEPT:
            _figures.popitem(last=False)


def take(backup_id, operation):
    """The figures of that operation, once; {} when none were kept."""
    with _lock:
        return _figures.pop((backup_id, operation), {})
