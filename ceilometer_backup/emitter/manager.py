"""Cinder's backup manager, aware of the metering wrapper.

Cinder records ``CONF.backup_driver`` as each backup's ``service`` and
refuses to restore, delete or export a backup whose recorded service is not
the configured driver. With ``MeteredBackupDriver`` configured, the driver
doing the work is the one it wraps, so backups recorded under that name
(all those made before the wrapper was enabled, and all those made with
it) are this service's own.

Cinder's manager also sends the ``.start`` and ``.end`` notifications of
every operation. Its ``.end`` carries what the wrapper measured of the
operation (``duration``), and every one names the wrapped driver as the
backup's service, as the wrapper's own notifications do.
"""

from cinder import objects
from oslo_config import cfg

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import measured
from ceilometer_backup.emitter.driver import MeteredBackupDriver, service_of

# cinder-backup registers Cinder's objects before it loads a manager;
# importing this module on its own (tests, tools) must work too.
objects.register_all()

from cinder.backup import manager  # noqa: E402

CONF = cfg.CONF


class MeteredBackupManager(manager.BackupManager):
    def _is_our_backup(self, backup):
        if super()._is_our_backup(backup):
            return True
        if not issubclass(self.service, MeteredBackupDriver):
            return False
        recorded = backup if isinstance(backup, str) else backup.service
        # The same test as Cinder's, against the wrapped driver's name.
        wrapped = CONF.backup_notifications.wrapped_driver
        return wrapped.startswith(recorded)

    def _notify_about_backup_usage(
        self, context, backup, event_suffix, extra_usage_info=None
    ):
        extra = dict(extra_usage_info or {})
        if issubclass(self.service, MeteredBackupDriver):
            extra['service'] = service_of(backup)
            operation, _, phase = event_suffix.partition('.')
            if phase == c.END:
                extra.update(measured.take(backup.id, operation))
        super()._notify_about_backup_usage(
            context, backup, event_suffix, extra_usage_info=extra or None
        )
