"""What one cinder-backup process keeps from one operation to the next.

Cinder's backup manager constructs a driver for every operation, so what
outlives one (the notifier and its sender thread, what the wrapper
measured for the manager's ``.end``, a warning given once) cannot belong
to a driver: ``MeteredBackupManager`` makes one ``Runtime`` as it starts
and hands it to every wrapper it constructs. A wrapper constructed by
another manager (a stock one, against the install page) shares the one
``of_process`` makes.
"""

import functools
import threading

from oslo_config import cfg

from ceilometer_backup import opts
from ceilometer_backup.emitter.measured import Measured
from ceilometer_backup.emitter.notification import BackupNotifier


class Runtime:
    """The process's notifier, measured figures and warnings, on
    ``conf`` (cinder-backup's, with this package's options)."""

    def __init__(self, conf):
        opts.register_opts(conf)
        self.conf = conf
        self.measured = Measured()
        self._lock = threading.Lock()
        self._notifier = None
        self._told = set()

    def notifier(self):
        """The process's notifier (one sender thread), made at first use:
        as a backup worker starts (``MeteredBackupManager.init_host``),
        after cinder-backup forked it."""
        with self._lock:
            if self._notifier is None:
                self._notifier = BackupNotifier.from_config(
                    self.conf, host=self.conf.host
                )
            return self._notifier

    def first(self, what):
        """Whether ``what`` is told for the first time in this process."""
        with self._lock:
            first = what not in self._told
            self._told.add(what)
            return first


@functools.cache
def of_process():
    """The runtime of wrappers that no ``MeteredBackupManager`` made.

    A cinder.conf without the manager's line still meters (with the
    WARNING of ``driver.py``): one runtime per process, on cinder-backup's
    ``cfg.CONF``, so that its wrappers too share one notifier and that
    WARNING is given once.
    """
    return Runtime(cfg.CONF)
