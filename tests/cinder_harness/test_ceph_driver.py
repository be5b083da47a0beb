"""MeteredBackupDriver around Cinder 29's real CephBackupDriver, on the
test session's real single-node Ceph.

Inside Cinder's own test harness (as test_posix_driver), with volumes as
os-brick hands them to cinder-backup: an RBD image opened through
``linuxrbd.RBDVolumeIOWrapper`` (the differential path, ``rbd export-diff
| rbd import-diff``), or a plain file (the full copy, ``_transfer_data``).
What Ceph holds is measured with Ceph's own ``rbd diff`` and ``rbd du``.
"""

import json
import os

import pytest
import rados
import rbd
from cinder.backup.drivers import ceph as ceph_driver  # noqa: F401 (options)
from cinder.tests.unit import utils as cinder_utils
from os_brick.initiator import linuxrbd

from testcloud.ceph import sha256, write_random
from testcloud.ground import MIB
from tests.support.cinder_harness import (
    MeteredDriverTestCase,
)

CEPH = 'cinder.backup.drivers.ceph.CephBackupDriver'
GIB = 1024 * MIB
DATA_MIB = 400
# Reads of an image throttled by librbd's own QoS, so that a transfer
# lasts several progress periods on this machine.
QOS_BYTES_PER_SECOND = 100 * MIB
PERIOD = 1  # progress_every_seconds


class MeteredCephBackupTest(MeteredDriverTestCase):
    WRAPPED = CEPH

    @pytest.fixture(autouse=True)
    def _ceph(self, ceph):
        self.ceph = ceph

    def setUp(self):
        super().setUp()
        self.override_config('backup_ceph_conf', self.ceph.conf)
        self.override_config('backup_ceph_user', 'admin')
        self.override_config('backup_ceph_pool', 'backups')
        self.override_config(
            'progress_every_seconds', PERIOD, 'backup_notifications'
        )
        self.cluster = rados.Rados(conffile=self.ceph.conf)
        self.cluster.connect()
        self.addCleanup(self.cluster.shutdown)
        self.ioctx = self.cluster.open_ioctx('volumes')
        self.addCleanup(self.ioctx.close)

    def backup_record(self, volume, **fields):
        # Cinder's harness would record container 'fake', a pool the
        # driver would then open.
        return super().backup_record(volume, container='backups', **fields)

    def _rbd_volume(self, data_extents=0):
        """A volume record and its 1 GiB RBD image, ``data_extents`` of
        4 MiB random data in it, throttled."""
        volume = cinder_utils.create_volume(self.ctxt, size=1)
        rbd.RBD().create(self.ioctx, volume.name, GIB)
        self.ceph.throttle_reads(
            f'volumes/{volume.name}', QOS_BYTES_PER_SECOND
        )
        with rbd.Image(self.ioctx, volume.name) as image:
            write_random(image, data_extents)
        return volume

    def _volume_file(self, volume):
        """The volume as os-brick's RBD connector hands it to
        cinder-backup."""
        image = rbd.Image(self.ioctx, volume.name)
        self.addCleanup(image.close)
        return linuxrbd.RBDVolumeIOWrapper(
            linuxrbd.RBDImageMetadata(
                image, 'volumes', 'admin', self.ceph.conf
            )
        )

    def _base(self, backup):
        return 'backups/' + json.loads(backup.service_metadata)['base']

    def _assert_moving_progress(self, progress):
        percents = [p['backup_percent'] for p in progress]
        assert percents == sorted(percents), percents
        assert percents[-1] == 100.0
        assert [p for p in percents if 0 < p < 100], percents
        moving = [p for p in progress if 0 < p['backup_percent'] < 100]
        assert all(p.get('idle_seconds', 0) <= PERIOD for p in moving), moving

    def test_rbd_full_incremental_and_restore(self):
        volume = self._rbd_volume(data_extents=DATA_MIB // 4)
        with self.listening() as received:
            full, full_figures = self.metered_backup(
                volume, self._volume_file(volume)
            )
            # 3 MiB in one place, 1 MiB in another, since the full backup.
            with rbd.Image(self.ioctx, volume.name) as image:
                image.write(os.urandom(3 * MIB), 700 * MIB)
                image.write(os.urandom(MIB), 900 * MIB)
            incremental, incremental_figures = self.metered_backup(
                volume, self._volume_file(volume), parent_id=full.id
            )
            received.wait_for_count('backup.createprogress', 2)
            full_progress = [
                p
                for p in received.payloads('backup.createprogress')
                if p['backup_id'] == full.id
            ]
            base = self._base(full)
            assert self._base(incremental) == base
            full_snap, incremental_snap = self.ceph.snapshots(base)
            self.ceph.throttle_reads(base, QOS_BYTES_PER_SECOND)
            target = self._rbd_volume()
            self.metered_restore(
                incremental, target, self._volume_file(target)
            )
            received.wait_for('backup.restoreprogress')
        # Ceph's own accounting of each backup's snapshot on the base.
        for figures, snap, since in (
            (full_figures, full_snap, None),
            (incremental_figures, incremental_snap, full_snap),
        ):
            listed = self.ceph.diff_bytes(f'{base}@{snap}', since)
            used = self.ceph.du_used(f'{base}@{snap}')
            assert figures['changed_bytes'] == listed, snap
            assert listed <= figures['stored_bytes'] <= used, snap
        assert full_figures['changed_bytes'] == DATA_MIB * MIB
        assert incremental_figures['changed_bytes'] == 4 * MIB
        self._assert_moving_progress(full_progress)
        assert full_progress[-1]['bytes_total'] == DATA_MIB * MIB
        restore_progress = received.payloads('backup.restoreprogress')
        self._assert_moving_progress(restore_progress)
        with (
            rbd.Image(self.ioctx, volume.name) as source,
            rbd.Image(self.ioctx, target.name) as restored,
        ):
            assert sha256(restored) == sha256(source)

    def test_file_volume_full_copy_and_restore(self):
        # 128 MiB read per object (backup_ceph_chunk_size): a report every
        # two, and none on a timer.
        group = 'backup_notifications'
        self.override_config('progress_every_objects', 2, group)
        self.override_config('progress_every_seconds', 0, group)
        volume = cinder_utils.create_volume(self.ctxt, size=1)
        path = self.tmp / 'volume'
        # A quarter random, the rest zeros (sparse), as large as the
        # volume: a block device is.
        with open(path, 'wb') as f:
            f.write(os.urandom(256 * MIB))
            f.truncate(GIB)
        with self.listening() as received:
            with open(path, 'rb') as f:
                backup, figures = self.metered_backup(volume, f)
            restored = self.tmp / 'restored'
            restored.touch()
            target = cinder_utils.create_volume(self.ctxt, size=1)
            with open(restored, 'r+b') as f:
                self.metered_restore(backup, target, f)
            received.wait_for('backup.restoreprogress')
        image = f'backups/volume-{volume.id}.backup.{backup.id}'
        assert figures['changed_bytes'] == self.ceph.diff_bytes(image)
        # A full copy writes every byte, zeros included.
        assert figures['stored_bytes'] == figures['changed_bytes'] == GIB
        create = received.payloads('backup.createprogress')
        assert [p['backup_percent'] for p in create] == [25, 50, 75, 100]
        # Two objects written, the zeros after them skipped.
        restore = received.payloads('backup.restoreprogress')
        assert [p['backup_percent'] for p in restore] == [25, 100]
        with open(restored, 'rb') as f, open(path, 'rb') as source:
            assert f.read(256 * MIB) == source.read(256 * MIB)
        # A restore onto a new volume skips the zeros.
        assert os.path.getsize(restored) == 256 * MIB

    def test_a_failed_backup_is_notified_and_raised_unchanged(self):
        volume = self._rbd_volume()
        backup = self.backup_record(volume)
        backup.container = 'no-such-pool'
        backup.save()
        wrapper = self.wrapper()
        with self.listening() as received:
            with pytest.raises(rados.ObjectNotFound):
                wrapper.backup(backup, self._volume_file(volume))
            received.wait_for('backup.create.error')
        (error,) = received.payloads('backup.create.error')
        assert error['backup_id'] == backup.id
        assert 'no-such-pool' in error['fail_reason']
        assert error['service'] == CEPH
