"""MeteredBackupDriver around Cinder 29's real PosixBackupDriver.

Runs inside Cinder's own test harness (cinder.tests.unit.test.TestCase:
SQLite database, Cinder's configuration), so the wrapped driver really
calls db.volume_get and backup.save(). Notifications go over a real
RabbitMQ to a real oslo.messaging listener.
"""

import os

import oslo_messaging
import pytest
from cinder.backup.drivers import posix  # noqa: F401 (its options)
from cinder.tests.unit import utils as cinder_utils

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import manager
from testcloud.ground import MIB
from tests.support.cinder_harness import (
    WRAPPER,
    MeteredDriverTestCase,
)

POSIX = 'cinder.backup.drivers.posix.PosixBackupDriver'
VOLUME_MIB = 64
OBJECT_MIB = 4  # 16 objects


class MeteredPosixBackupTest(MeteredDriverTestCase):
    WRAPPED = POSIX
    EVERY = 4  # progress every 4 objects

    def setUp(self):
        super().setUp()
        self.override_config('backup_posix_path', str(self.tmp / 'backups'))
        self.override_config('backup_file_size', OBJECT_MIB * MIB)
        self.override_config('backup_sha_block_size_bytes', 32768)
        self.volume = cinder_utils.create_volume(self.ctxt, size=1)
        self.volume_file = self.tmp / 'volume'
        self.volume_file.write_bytes(os.urandom(VOLUME_MIB * MIB))

    def test_backup_then_restore_through_the_real_posix_driver(self):
        with self.listening() as received:
            backup, _ = self._metered_backup()
            # As Cinder's backup manager does around the driver calls.
            backup.status = 'restoring'
            backup.save()
            restored = self.tmp / 'restored'
            restored.write_bytes(b'\0' * VOLUME_MIB * MIB)
            wrapper = self.wrapper()
            with open(restored, 'r+b') as f:
                wrapper.restore(backup, self.volume.id, f, True)
            received.wait_for('backup.restoreprogress')
            self.runtime.notifier().flush()
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

    def test_the_manager_checks_at_start_and_hands_its_drivers_one_runtime(
        self,
    ):
        self.override_config('backup_driver', WRAPPER)
        transport = oslo_messaging.transport.NotificationTransport
        self.mock_object(transport, '_send_notification', None)
        backup_manager = manager.MeteredBackupManager(host='h')
        assert backup_manager.runtime._notifier is None, (
            'made in the worker cinder-backup forks, not before'
        )
        # The worker's start, less Cinder's own (database, driver set-up).
        self.mock_object(manager.manager.BackupManager, 'init_host')
        with self.assertLogs('ceilometer_backup', 'ERROR') as logged:
            backup_manager.init_host()
        (error,) = logged.output
        assert (
            'has no NotificationTransport._send_notification: notifications '
            'it fails to send are not seen' in error
        )
        wrappers = [backup_manager.service(self.ctxt) for _ in range(2)]
        assert backup_manager.driver_name == POSIX
        assert {w.driver_name for w in wrappers} == {POSIX}
        assert {w._runtime for w in wrappers} == {backup_manager.runtime}
        # Made as the worker starts, once for the process.
        assert {w._notifier for w in wrappers} == {
            backup_manager.runtime.notifier()
        }

    def test_forced_failure_yields_error_and_the_same_exception(self):
        backup = self.backup_record(self.volume)
        closed = open(self.volume_file, 'rb')
        closed.close()
        with self.listening() as received:
            wrapper = self.wrapper()
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
        with open(self.volume_file, 'rb') as f:
            return self.metered_backup(self.volume, f, **fields)

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
