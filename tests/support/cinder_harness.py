"""The metering wrapper inside Cinder's own test harness.

``MeteredDriverTestCase`` is cinder.tests.unit.test.TestCase (SQLite
database, Cinder's configuration) with the wrapper configured around a
real driver and notifications going over the test session's real
RabbitMQ. Importing it monkey-patches the process with eventlet: only
tests/cinder_harness may.
"""

import oslo_messaging
import pytest

# Cinder's TestCase swaps oslo_messaging.Notifier for a fake one; the
# emitter must use the real class to reach RabbitMQ.
REAL_NOTIFIER = oslo_messaging.Notifier

from cinder.tests.unit import test as cinder_test  # noqa: E402
from cinder.tests.unit import utils as cinder_utils  # noqa: E402
from oslo_config import cfg  # noqa: E402

from ceilometer_backup import contract as c  # noqa: E402
from ceilometer_backup import opts  # noqa: E402
from ceilometer_backup.emitter import driver as driver_module  # noqa: E402
from ceilometer_backup.emitter.runtime import Runtime  # noqa: E402
from tests.support.recorders import listening  # noqa: E402

WRAPPER = 'ceilometer_backup.emitter.driver.MeteredBackupDriver'


class MeteredDriverTestCase(cinder_test.TestCase):
    """Subclasses set ``WRAPPED`` (the driver's class path) and
    ``EVERY`` (progress every N objects)."""

    WRAPPED = None
    EVERY = 0

    @pytest.fixture(autouse=True)
    def _servers(self, rabbitmq, tmp_path):
        self.rabbitmq = rabbitmq
        self.tmp = tmp_path

    def _common_cleanup(self):
        # Cinder drops every public instance attribute after a test, among
        # them the bound test method pytest sets there and then deletes.
        method = self.__dict__.get(self._testMethodName)
        super()._common_cleanup()
        if method is not None:
            self.__dict__[self._testMethodName] = method

    def setUp(self):
        super().setUp()
        self.mock_object(oslo_messaging, 'Notifier', REAL_NOTIFIER)
        opts.register_opts(cfg.CONF)  # as cinder-backup's manager does
        self.override_config('transport_url', self.rabbitmq.url)
        self.override_config(
            'driver', ['messagingv2'], group='oslo_messaging_notifications'
        )
        group = 'backup_notifications'
        self.override_config('wrapped_driver', self.WRAPPED, group)
        self.override_config('progress_every_objects', self.EVERY, group)
        self.override_config('backup_manager', driver_module.MANAGER)
        # This test's cinder-backup process, as its manager hands it.
        self.runtime = Runtime(cfg.CONF)
        self.ctxt = cinder_utils.context.get_admin_context()

    def listening(self):
        """What reaches Cinder's exchange meanwhile (a Collector)."""
        return listening(self.rabbitmq.url, exchange=cfg.CONF.control_exchange)

    def wrapper(self):
        """A wrapper, constructed as Cinder's manager constructs one."""
        return driver_module.MeteredBackupDriver.handed(self.runtime)(
            self.ctxt
        )

    def backup_record(self, volume, **fields):
        """A backup as Cinder's manager records it before the driver
        runs."""
        return cinder_utils.create_backup(
            self.ctxt, volume_id=volume.id, size=volume.size, service=WRAPPER,
            **fields,
        )  # fmt: skip

    def metered_backup(self, volume, volume_file, **fields):
        """A backup made through the wrapper as Cinder's manager makes it;
        what the wrapper left for the manager's .end."""
        backup = self.backup_record(volume, **fields)
        updates = self.wrapper().backup(backup, volume_file)
        backup.update(updates)
        backup.status = 'available'
        backup.save()
        return backup, self.runtime.measured.take(backup.id, c.CREATE)

    def metered_restore(self, backup, volume, volume_file):
        # As Cinder's backup manager does around the driver call.
        backup.status = 'restoring'
        backup.save()
        self.wrapper().restore(backup, volume.id, volume_file, True)
        backup.status = 'available'
        backup.save()
