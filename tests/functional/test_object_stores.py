"""Cinder's Swift and S3 backup drivers, as devstack and clouds run them.

A real Swift 2.38 (testcloud.swift) behind the real Keystone
(``authtoken`` and ``keystoneauth`` in the proxy, ``object-store`` in the
catalog), with its S3 API (``s3api``, ``s3token``); cinder-backup with the
shipped snippet, only ``wrapped_driver`` changed, around
``SwiftBackupDriver`` with Cinder's default per-user authentication (the
tenant's token, the tenant's account), then around ``S3BackupDriver``
with EC2 credentials of Cinder's service user, as devstack's ``s3_swift``
backup store; Ceilometer's agents and Gnocchi. What a backup stores is
measured by the store's own listing of that backup's objects:
python-swiftclient as the tenant, boto3 with the EC2 credentials.
"""

import re

import pytest

from testcloud.cloud import sha256, wait_for
from testcloud.ground import MIB
from tests.support.recorders import listening

# Cinder's backup_swift_container and backup_s3_store_bucket.
CONTAINER = 'volumebackups'
SHA_BLOCK = 32768  # Cinder's backup_sha_block_size_bytes


pytestmark = pytest.mark.backup_stores('swift', 's3')


@pytest.fixture(scope='module', params=['swift', 's3'])
def cloud(openstack, request):
    store = request.param
    with openstack.as_tenant(f'store-{store}', store=store) as cloud:
        yield cloud


def _in_store(cloud, backup_id):
    """Name -> bytes of the backup's objects, as the store lists them."""
    marker = f'_backup_{backup_id}'
    if cloud.backup_host.s3_keys:
        return cloud.stack.swift.s3_listing(
            cloud.backup_host.s3_keys, CONTAINER, marker
        )
    return cloud.stack.swift.listing(
        cloud.stack.session(cloud.user), CONTAINER, marker
    )


def test_backups_are_metered_as_the_store_lists_them(cloud):
    volume = cloud.volume()
    path = cloud.cinder.volume_path(volume.id)
    cloud.write(volume.id, 8)
    cloud.write(volume.id, 4, at_mib=512)
    full = cloud.backup(volume.id, name='full')
    assert full.status == 'available'
    cloud.write(volume.id, 2, at_mib=3)
    incremental = cloud.backup(volume.id, name='inc', incremental=True)
    assert incremental.status == 'available'
    restored = cloud.restored(incremental.id)
    assert sha256(cloud.cinder.volume_path(restored.id)) == sha256(path)

    in_store = {
        b.id: sum(_in_store(cloud, b.id).values()) for b in (full, incremental)
    }

    def stored():
        found = {
            b: cloud.gnocchi.resource.get('volume_backup', b)['stored_bytes']
            for b in in_store
        }
        assert found == in_store
        return found

    wait_for(stored)
    for name, backup in (('full', full), ('incremental', incremental)):
        print(
            f'{name}: stored_bytes {stored()[backup.id]}, the store lists '
            f'{in_store[backup.id]} in {len(_in_store(cloud, backup.id))} '
            'objects'
        )
        assert set(cloud.measures(backup.id, 'backup.stored.size')) == {
            in_store[backup.id]
        }
    assert cloud.measures(full.id, 'backup.changed.size') == [1024 * MIB]
    (changed,) = cloud.measures(incremental.id, 'backup.changed.size')
    assert abs(changed - 2 * MIB) <= SHA_BLOCK
    for backup, operations in (
        (full, ['create']),
        (incremental, ['create', 'restore']),
    ):
        for operation in operations:
            percents = [
                s['volume']
                for s in cloud.samples(backup.id, 'backup.progress')
                if s['resource_metadata']['operation'] == operation
            ]
            assert percents and max(percents) == 100.0, operation
            (duration,) = cloud.measures(
                backup.id, f'backup.{operation}.duration'
            )
            assert 0 < duration < 120
        resource = cloud.gnocchi.resource.get('volume_backup', backup.id)
        assert resource['service'] == cloud.backup_host.driver

    cloud.delete(incremental.id)
    cloud.delete(full.id)
    assert not _in_store(cloud, full.id)
    assert not _in_store(cloud, incremental.id)
    for backup in (full, incremental):
        wait_for(
            lambda b=backup: cloud.gnocchi.resource.get('volume_backup', b.id)[
                'ended_at'
            ]
        )


def test_the_object_server_stopped_mid_backup_is_a_create_error(cloud):
    with listening(
        cloud.rabbitmq.url, exchange='openstack', pool='test-store-errors'
    ) as bus:
        volume, backup = cloud.backup_under_way('victim')
        cloud.stack.swift.stop_server('object')
        try:
            failed = cloud.wait(
                lambda: cloud.tenant.backups.get(backup.id),
                'available',
                'error',
            )
            wait_for(lambda: bus.payloads('backup.create.error'))
        finally:
            cloud.stack.swift.start_server('object')
    assert failed.status == 'error'
    reason = cloud.admin.backups.get(backup.id).fail_reason
    (error,) = bus.payloads('backup.create.error')
    assert error['backup_id'] == backup.id
    assert error['fail_reason'] == reason
    print(f'fail_reason: {reason}')
    assert re.search('503|Service ?Unavailable', reason), reason
    wait_for(lambda: cloud.measures(backup.id, 'backup.error') == [1.0])
    wait_for(
        lambda: (
            cloud.gnocchi.resource.get('volume_backup', backup.id)['status']
            == 'error'
        )
    )
    assert max(cloud.measures(backup.id, 'backup.progress', 'max')) < 100
    cloud.wait(lambda: cloud.tenant.volumes.get(volume.id), 'available')
