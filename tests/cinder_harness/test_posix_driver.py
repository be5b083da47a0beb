"""MeteredBackupDriver around Cinder 29's real PosixBackupDriver.

Runs inside Cinder's own test harness (cinder.tests.unit.test.TestCase:
SQLite database, Cinder's configuration), so the wrapped driver really
calls db.volume_get and backup.save(). Notifications go over a real
RabbitMQ to a real oslo.messaging listener.
"""

import os

import oslo_messaging
import pytest

# Cinder's TestCase swaps oslo_messaging.Notifier for a fake one; the
# emitter must use the real class to reach RabbitMQ.
REAL_NOTIFIER = oslo_messaging.Notifier

from cinder.backup.drivers import posix  # noqa: E402, F401 (its options)
from cinder.tests.unit import test as cinder_test  # noqa: E402
from cinder.tests.unit import utils as cinder_utils  # noqa: E402
from oslo_config import cfg  # noqa: E402

from ceilometer_backup import contract as c  # noqa: E402
from ceilometer_backup.emitter import driver as driver_module  # noqa: E402
from ceilometer_backup.emitter import measured  # noqa: E402
from tests.support import MIB  # noqa: E402
from tests.support.recorders import listening  # noqa: E402

POSIX = 'cinder.backup.drivers.posix.PosixBackupDriver'
VOLUME_MIB = 64
OBJECT_MIB = 4  # 16 objects
EVERY = 4  # progress every 4 objects


class MeteredPosixBackupTest(cinder_test.TestCase):
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
        self.override_config('transport_url', self.rabbitmq.url)
        self.override_config(
            'driver', ['messagingv2'], group='oslo_messaging_notifications'
        )
        self.override_config('backup_posix_path', str(self.tmp / 'backups'))
        self.override_config('backup_file_size', OBJECT_MIB * MIB)
        self.override_config('backup_sha_block_size_bytes', 32768)
        self.override_config('wrapped_driver', POSIX, 'backup_notifications')
        self.override_config(
            'progress_every_objects',
            EVERY,
            'backup_notifications',
        )
        self.override_config('backup_manager', driver_module.MANAGER)
        driver_module.process_notifier.cache_clear()
        self.addCleanup(driver_module.process_notifier.cache_clear)
        self.ctxt = cinder_utils.context.get_admin_context()
        self.volume = cinder_utils.create_volume(self.ctxt, size=1)
        self.volume_file = self.tmp / 'volume'
        self.volume_file.write_bytes(os.urandom(VOLUME_MIB * MIB))

    def _backup(self, **fields):
        """A backup as Cinder's manager records it before the driver runs."""
        return cinder_utils.create_backup(
            self.ctxt,
            volume_id=self.volume.id,
            size=1,
            service='ceilometer_backup.emitter.driver.MeteredBackupDriver',
            **fields,
        )

    def test_backup_then_restore_through_the_real_posix_driver(self):
        with listening(
            self.rabbitmq.url, exchange=cfg.CONF.control_exchange
        ) as received:
            backup, _ = self._metered_backup()
            # As Cinder's backup manager does around the driver calls.
            backup.status = 'restoring'
            backup.save()
            restored = self.tmp / 'restored'
            restored.write_bytes(b'\0' * VOLUME_MIB * MIB)
            wrapper = driver_module.MeteredBackupDriver(self.ctxt)
            with open(restored, 'r+b') as f:
                wrapper.restore(backup, self.volume.id, f, True)
            received.wait_for('backup.restoreprogress')
            driver_module.process_notifier().flush()
            received.wait_for_count('backup.restoreprogress', 4)

        assert restored.read_bytes() == self.volume_file.read_bytes()
        assert backup.service == POSIX, 'backups keep the real driver name'
        for operation in ('create', 'restore'):
            progress = [
                m['payload']
                for m in received.messages
                if m['event_type'] == c.PROGRESS_EVENTS[operation]
            ]
            percents = [p['backup_percent'] for p in progress]
            assert percents == [25.0, 50.0, 75.0, 100.0], operation
            assert {p['backup_id'] for p in progress} == {backup.id}
            assert progress[-1]['bytes_done'] == VOLUME_MIB * MIB
        # Stock Cinder's own progress (a block-count percentage and the
        # chunk list, to its own notifier, faked here) is silenced while
        # the wrapper meters.
        stock = [
            n
            for n in self.notifier.notifications
            if 'progress' in n['event_type']
        ]
        assert stock == []

    def test_forced_failure_yields_error_and_the_same_exception(self):
        backup = self._backup()
        closed = open(self.volume_file, 'rb')
        closed.close()
        with listening(
            self.rabbitmq.url, exchange=cfg.CONF.control_exchange
        ) as received:
            wrapper = driver_module.MeteredBackupDriver(self.ctxt)
            with pytest.raises(ValueError, match='closed file'):
                wrapper.backup(backup, closed)
            received.wait_for('backup.create.error')
        (error,) = [
            m['payload']
            for m in received.messages
            if m['event_type'] == 'backup.create.error'
        ]
        assert error['backup_id'] == backup.id
        assert 'closed file' in error['fail_reason']
        assert error['duration'] >= 0

    def _files_of(self, backup):
        """Bytes on disk of every object this backup wrote, by os.stat."""
        total = 0
        for folder, _, names in os.walk(self.tmp / 'backups'):
            for name in names:
                if f'backup_{backup.id}' in name:
                    total += os.stat(os.path.join(folder, name)).st_size
        return total

    def _metered_backup(self, **fields):
        """A backup as Cinder's manager makes it; what the wrapper left
        for the manager's .end."""
        backup = self._backup(**fields)
        wrapper = driver_module.MeteredBackupDriver(self.ctxt)
        with open(self.volume_file, 'rb') as f:
            updates = wrapper.backup(backup, f)
        backup.update(updates)
        backup.status = 'available'
        backup.save()
        return backup, measured.take(backup.id, c.CREATE)

    def test_stored_and_changed_bytes_of_full_and_incremental_backups(self):
        sha_block = 32768
        changed = (3 * MIB, 10 * MIB)  # length, offset
        for algorithm in ('none', 'zlib', 'zstd'):
            self.override_config('backup_compression_algorithm', algorithm)
            # Half random, half zeros: compression has something to do.
            self.volume_file.write_bytes(
                os.urandom(VOLUME_MIB * MIB // 2)
                + bytes(VOLUME_MIB * MIB // 2)
            )
            full, full_figures = self._metered_backup()
            with open(self.volume_file, 'r+b') as f:
                f.seek(changed[1])
                f.write(os.urandom(changed[0]))
            incremental, incremental_figures = self._metered_backup(
                parent_id=full.id
            )
            assert incremental.parent_id == full.id
            for backup, figures in (
                (full, full_figures),
                (incremental, incremental_figures),
            ):
                on_disk = self._files_of(backup)
                assert on_disk > 0
                assert figures['stored_bytes'] == on_disk, algorithm
            assert full_figures['changed_bytes'] == VOLUME_MIB * MIB
            assert (
                abs(incremental_figures['changed_bytes'] - changed[0])
                <= sha_block
            ), algorithm
            if algorithm == 'none':
                assert full_figures['stored_bytes'] > VOLUME_MIB * MIB
            else:
                assert full_figures['stored_bytes'] < VOLUME_MIB * MIB * 0.6
            assert (
                incremental_figures['stored_bytes']
                < full_figures['stored_bytes'] / 10
            )
