"""A Cinder backup driver that meters the driver it wraps.

Enabled in cinder.conf alone, in an unpatched Cinder::

    [DEFAULT]
    backup_driver = ceilometer_backup.emitter.driver.MeteredBackupDriver
    backup_manager = ceilometer_backup.emitter.manager.MeteredBackupManager
    [backup_notifications]
    wrapped_driver = cinder.backup.drivers.posix.PosixBackupDriver

The wrapper is constructed as Cinder's backup manager constructs drivers,
passes every call through unchanged, and adds correct progress (counted on
the volume file, or where a driver moves data without it, see ``store``)
and ``.error`` notifications.
Backups keep the wrapped driver's name as their service, so they stay
restorable if the wrapper is removed again.
"""

import contextlib
from collections.abc import Mapping

from oslo_log import log as logging
from oslo_utils import importutils

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import runtime, store
from ceilometer_backup.emitter.payload import read_field
from ceilometer_backup.emitter.volume_file import (
    CountingVolumeFile,
    measured_size,
)

LOG = logging.getLogger(__name__)
MANAGER = 'ceilometer_backup.emitter.manager.MeteredBackupManager'
WRAPPER = f'{__name__}.MeteredBackupDriver'


class WrappedDriverError(Exception):
    """``[backup_notifications] wrapped_driver`` names no driver to run."""


def wrapped_driver_class(conf):
    """The class ``wrapped_driver`` names. No default: a driver guessed
    for a missing or misspelt option would back up somewhere else."""
    name = conf.backup_notifications.wrapped_driver
    if not name:
        raise WrappedDriverError(
            '[backup_notifications] wrapped_driver is not set: it must name '
            'the backup driver that does the work, e.g. '
            'cinder.backup.drivers.ceph.CephBackupDriver'
        )
    if name == WRAPPER:
        raise WrappedDriverError(
            '[backup_notifications] wrapped_driver names the wrapper itself: '
            'it must name the backup driver that does the work'
        )
    try:
        loaded = importutils.import_class(name)
    except Exception as error:
        raise WrappedDriverError(
            f'[backup_notifications] wrapped_driver = {name} cannot be '
            f'loaded: {type(error).__name__}: {error}'
        ) from None
    if not isinstance(loaded, type):
        raise WrappedDriverError(
            f'[backup_notifications] wrapped_driver = {name} is not a class'
        )
    return loaded


def service_of(conf, backup):
    """The backup's service as notifications name it: the wrapped driver
    where Cinder recorded the wrapper (its manager records its configured
    driver before the wrapper corrects it), so the service never flips."""
    recorded = read_field(backup, 'service')
    if recorded is not None and not isinstance(recorded, str):
        LOG.warning(
            'Backup %(backup)s records its service as a %(kind)s, not a '
            "driver's name: its notifications carry it as recorded",
            {
                'backup': read_field(backup, 'id'),
                'kind': type(recorded).__name__,
            },
        )
        return recorded
    if not recorded or WRAPPER.startswith(recorded):
        return conf.backup_notifications.wrapped_driver
    return recorded


def _warn_about_manager(process):
    conf = process.conf
    if conf.get('backup_manager', MANAGER) == MANAGER or not process.first(
        'backup_manager'
    ):
        return
    LOG.warning(
        'backup_driver is MeteredBackupDriver but backup_manager is not '
        '%(manager)s: Cinder will refuse to restore or delete backups '
        'recorded under %(inner)s. Set backup_manager = %(manager)s.',
        {
            'manager': MANAGER,
            'inner': conf.backup_notifications.wrapped_driver,
        },
    )


class MeteredBackupDriver:
    """Proxy of the configured backup driver, with notifications."""

    #: The process's ``runtime.Runtime``, set by ``handed``.
    handed_runtime = None

    @classmethod
    def handed(cls, process):
        """This class, its instances handed the runtime ``process``: what
        ``MeteredBackupManager`` constructs its drivers from."""
        return type(
            cls.__name__,
            (cls,),
            {
                'handed_runtime': process,
                '__module__': cls.__module__,
                '__qualname__': cls.__qualname__,
            },
        )

    def __init__(self, context, *args, **kwargs):
        self._runtime = self.handed_runtime or runtime.of_process()
        conf = self._runtime.conf
        self._context = context
        self.driver_name = conf.backup_notifications.wrapped_driver
        self._driver = wrapped_driver_class(conf)(context, *args, **kwargs)
        self._notifier = self._runtime.notifier()
        _warn_about_manager(self._runtime)

    def __getattr__(self, name):
        # check_for_setup_error, export_record, import_record, get_metadata,
        # put_metadata, support_force_delete, ...: unchanged.
        return getattr(self._driver, name)

    def _operation(self, backup, operation, volume_file=None):
        """The operation's notifications, and the file to hand the driver.

        With notifications off, the driver gets the very file Cinder gave.
        """
        metered = volume_file is not None and self._notifier.enabled
        conf = self._runtime.conf
        op = self._notifier.operation(
            self._context,
            backup,
            operation,
            lifecycle=conf.backup_notifications.send_lifecycle_notifications,
            total_bytes=measured_size(volume_file) if metered else None,
            overrides={'service': service_of(conf, backup)},
        )
        if not metered:
            return op, volume_file
        return op, CountingVolumeFile(volume_file, op.advance)

    @contextlib.contextmanager
    def _running(self, op):
        """``op`` around the driver's call; a failure's ``.error`` is sent
        here, and noted so that the manager does not send it again."""
        try:
            with op:
                yield
        except Exception:
            self._runtime.measured.error_sent(op.backup_id, op.operation)
            raise

    def _succeeded(self, op):
        """Leave what was measured for the ``.end`` Cinder's manager sends
        (the wrapper sends its own only with lifecycle notifications on)."""
        if self._notifier.enabled and not op.lifecycle:
            self._runtime.measured.remember(
                op.backup_id,
                op.operation,
                duration=op.duration,
                **op.end_figures,
            )

    def backup(self, backup, volume_file, *args, **kwargs):
        op, volume_file = self._operation(backup, c.CREATE, volume_file)
        with self._running(op):
            with store.metered(self._driver, op) as counts:
                updates = self._driver.backup(
                    backup, volume_file, *args, **kwargs
                )
            op.end_figures.update(counts.figures())
        self._succeeded(op)
        if updates is not None and not isinstance(updates, Mapping):
            LOG.warning(
                'The backup driver returned a %(kind)s, not the updates of '
                'backup %(backup)s: handed to Cinder as it is',
                {'kind': type(updates).__name__, 'backup': op.backup_id},
            )
            return updates
        # Cinder's stock manager records the wrapper's name (ours, the
        # wrapped driver's): keep the real driver's.
        return dict(updates or {}, service=self.driver_name)

    def restore(self, backup, volume_id, volume_file, *args, **kwargs):
        op, volume_file = self._operation(backup, c.RESTORE, volume_file)
        with self._running(op), store.metered(self._driver, op):
            restored = self._driver.restore(
                backup, volume_id, volume_file, *args, **kwargs
            )
        self._succeeded(op)
        return restored

    def delete_backup(self, backup, *args, **kwargs):
        op, _ = self._operation(backup, c.DELETE)
        with self._running(op):
            deleted = self._driver.delete_backup(backup, *args, **kwargs)
        self._succeeded(op)
        return deleted
