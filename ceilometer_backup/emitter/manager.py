"""Cinder's backup manager, aware of the metering wrapper.

Cinder records its manager's ``driver_name`` (``CONF.backup_driver``) as
each backup's ``service``, before the driver runs, and refuses to restore,
delete or export a backup whose recorded service is not the configured
driver. With ``MeteredBackupDriver`` configured, the driver doing the work
is the one it wraps: that is the name recorded, on every backup, failed
ones included, so that a stock cinder-backup with that driver owns them
all again once the wrapper is removed. Backups recorded under either name
are this service's own.

Cinder's manager also sends the ``.start`` and ``.end`` notifications of
every operation. Its ``.end`` carries what the wrapper measured of the
operation (``duration``), and every one names the wrapped driver as the
backup's service, as the wrapper's own notifications do.

Cinder sends no ``.error`` at all, and most failures happen outside the
driver's call: the volume cannot be attached, a status check fails, the
restore target cannot be attached. Each operation the manager runs
(``create_backup``, ``continue_backup``, ``restore_backup``,
``delete_backup``) that ends in an exception sends one
``backup.<operation>.error`` with Cinder's ``fail_reason`` (the
exception's text where Cinder records none, as for a restore), unless
the wrapper already sent it for a failure of the driver.

A cinder-backup killed mid-operation sends neither ``.end`` nor ``.error``;
on restart Cinder resets the backup (``creating`` to ``error``,
``restoring`` to ``available``) and tells nobody. Here that reset sends
the ``.error`` the operation never sent, so metering shows it failed.

What outlives one operation (the notifier, what the wrapper measured
for the ``.end``) is the process's ``runtime.Runtime``: the manager makes
it as it starts and hands it to every wrapper it constructs.

With the wrapper configured, cinder-backup does not start unless
``[backup_notifications] wrapped_driver`` names a driver it can load. It
then checks that this Cinder still has each private method the metering
overrides or replaces, and that oslo.messaging still has each internal
the notifier watches (``upstream``), and names in one ERROR each one it
lacks, with what goes without it: nothing calls the override then, and
the backup itself works as in stock Cinder.
"""

import contextlib

from cinder import objects
from oslo_config import cfg
from oslo_log import log as logging

from ceilometer_backup import contract as c
from ceilometer_backup import upstream
from ceilometer_backup.emitter import driver, family, runtime, store
from ceilometer_backup.upstream import cinder

# cinder-backup registers Cinder's objects before it loads a manager;
# importing this module on its own (tests, tools) must work too.
objects.register_all()

from cinder.backup import manager  # noqa: E402

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

# Cinder resets a backup in these states on restart: the operation was cut.
_INTERRUPTED = {'creating': c.CREATE, 'restoring': c.RESTORE}


def check_upstream(driver_class):
    """One ERROR for each method of Cinder's that metering
    ``driver_class`` overrides (the manager's) or replaces (the
    ``PRIVATE`` of each driver family it belongs to) and this Cinder
    lacks."""
    lineage = family.lineage(driver_class)
    classes = {cinder.MANAGER: manager.BackupManager}
    classes.update(dict.fromkeys(lineage, driver_class))
    upstream.check(
        LOG,
        cinder.PROJECT,
        cinder.of(cinder.MANAGER)
        + tuple(
            symbol
            for member in store.FAMILIES
            if member.DRIVER in lineage
            for symbol in member.PRIVATE
        ),
        lambda symbol: callable(
            getattr(classes[symbol.owner], symbol.name, None)
        ),
    )


class MeteredBackupManager(manager.BackupManager):
    def __init__(self, *args, **kwargs):
        self.runtime = runtime.Runtime(CONF)
        # Before Cinder's own start (database, RPC): otherwise it would
        # retry constructing the driver forever and take requests
        # meanwhile. No start at all, and one line why.
        if CONF.backup_driver == driver.WRAPPER:
            try:
                wrapped = driver.wrapped_driver_class(CONF)
            except driver.WrappedDriverError as error:
                LOG.error('cinder-backup cannot start: %s', error)
                raise SystemExit(1) from None
            check_upstream(wrapped)
        super().__init__(*args, **kwargs)
        if self._wrapped():
            self.driver_name = CONF.backup_notifications.wrapped_driver
            self.service = self.service.handed(self.runtime)

    def init_host(self, **kwargs):
        # In each backup worker (cinder-backup forks them after making the
        # manager), before Cinder sets the driver up: the worker's own
        # notifier and transport, with the check of oslo.messaging's
        # internals it watches. One that cannot be made now fails again
        # when Cinder sets the driver up, as it did there alone.
        if self._wrapped():
            with contextlib.suppress(Exception):
                self.runtime.notifier()
        super().init_host(**kwargs)

    def _wrapped(self):
        """Whether the configured driver is the metering wrapper. A driver
        that is not a class (a factory put in its place) is not: Cinder's
        own behaviour goes on, unmetered by the manager."""
        if isinstance(self.service, type):
            return issubclass(self.service, driver.MeteredBackupDriver)
        if self.runtime.first('service-not-a-class'):
            LOG.warning(
                "The backup manager's driver is a %(kind)s, not a class: "
                'its operations are not metered by the manager (no duration '
                'in their .end, no .error of their failures)',
                {'kind': type(self.service).__name__},
            )
        return False

    def _is_our_backup(self, backup):
        if super()._is_our_backup(backup):
            return True
        if not self._wrapped():
            return False
        # Recorded under the wrapper's own name: by a release of this
        # package that did, or by a stock manager configured with it.
        recorded = backup if isinstance(backup, str) else backup.service
        return driver.WRAPPER.startswith(recorded)

    def _notify_about_backup_usage(
        self, context, backup, event_suffix, extra_usage_info=None
    ):
        extra = dict(extra_usage_info or {})
        if self._wrapped():
            extra['service'] = driver.service_of(CONF, backup)
            operation, _, phase = event_suffix.partition('.')
            if phase == c.END:
                extra.update(self.runtime.measured.take(backup.id, operation))
        super()._notify_about_backup_usage(
            context, backup, event_suffix, extra_usage_info=extra or None
        )

    @contextlib.contextmanager
    def _failure_told(self, ctxt, backup, operation):
        recorded = getattr(backup, 'fail_reason', None)
        try:
            yield
        except Exception as error:
            if self._wrapped() and not self.runtime.measured.take_error_sent(
                backup.id, operation
            ):
                # What Cinder recorded of this failure, if it did.
                changed = getattr(backup, 'fail_reason', None) != recorded
                reason = backup.fail_reason if changed else error
                self._send_error(ctxt, backup, operation, reason)
            raise
        finally:
            # A driver failure Cinder did not pass on (a cancelled
            # restore) must not silence the next operation's.
            self.runtime.measured.take_error_sent(backup.id, operation)

    def create_backup(self, context, backup):
        with self._failure_told(context, backup, c.CREATE):
            return super().create_backup(context, backup)

    def continue_backup(self, context, backup, backup_device):
        with self._failure_told(context, backup, c.CREATE):
            return super().continue_backup(context, backup, backup_device)

    def restore_backup(self, context, backup, volume_id, volume_is_new):
        with self._failure_told(context, backup, c.RESTORE):
            return super().restore_backup(
                context, backup, volume_id, volume_is_new
            )

    def delete_backup(self, context, backup):
        with self._failure_told(context, backup, c.DELETE):
            return super().delete_backup(context, backup)

    def _cleanup_one_backup(self, ctxt, backup):
        operation = _INTERRUPTED.get(backup['status'])
        super()._cleanup_one_backup(ctxt, backup)
        if operation is None or not self._wrapped():
            return
        reason = (
            backup.fail_reason
            if operation == c.CREATE and backup.fail_reason
            else f'{operation} interrupted: cinder-backup stopped during it'
        )
        self._send_error(ctxt, backup, operation, reason)

    def _send_error(self, ctxt, backup, operation, reason):
        try:
            self.runtime.notifier().operation(
                ctxt,
                backup,
                operation,
                lifecycle=False,
                overrides={'service': driver.service_of(CONF, backup)},
            ).fail(reason)
        except Exception:
            # Never into Cinder's flow.
            LOG.warning(
                'Could not send backup.%(operation)s.error for backup '
                '%(backup)s',
                {'operation': operation, 'backup': backup.id},
                exc_info=True,
            )
