"""cinder-backup active-active, as clouds run it: two backup hosts of one
availability zone on one backup directory (an NFS share, say), Cinder
sending each operation on a backup to whichever is enabled. Which host did
what is read from each cinder-backup's own log.

Cinder 29's ``PUT /os-services/disable`` and ``/enable`` save the service
without changing it (``cinder/api/v3/services.py``); ``disable-log-reason``
does disable, and nothing enables again: the host the backup was made on
stays disabled in this module's zone.
"""

import pytest

from testcloud.cinder import POSIX_BACKUP
from testcloud.cloud import sha256, wait_for

pytestmark = pytest.mark.backup_stores('posix-pair')
STORE = 'posix-pair'


@pytest.fixture(scope='module')
def cloud(openstack):
    with openstack.as_tenant('pair', store=STORE) as cloud:
        yield cloud


def _host_of(cloud, started, backup_id):
    """The host whose cinder-backup logged ``started`` (Cinder's
    ``Create backup started``, ...) for the backup."""
    (host,) = [
        h
        for h in cloud.cinder.hosts_of(STORE)
        if f'{started}, backup: {backup_id}'
        in cloud.cinder.log_text(h.service)
    ]
    return host


def test_made_on_one_host_restored_on_the_other_is_one_backup(cloud):
    """Made on one host, which is then disabled, restored and deleted on
    the other: one Gnocchi resource, its driver the same throughout, a
    duration for each operation, each sample naming the host Cinder gave
    it."""
    volume = cloud.volume()
    cloud.write(volume.id, 4)
    backup = cloud.backup(volume.id, name='moved')
    assert backup.status == 'available'
    made_on = _host_of(cloud, 'Create backup started', backup.id)
    (other,) = [h for h in cloud.cinder.hosts_of(STORE) if h is not made_on]
    cloud.admin.services.disable_log_reason(
        made_on.host, 'cinder-backup', 'the other host restores its backups'
    )
    restored = cloud.restored(backup.id)
    assert _host_of(cloud, 'Restore backup started', backup.id) is other
    assert sha256(cloud.cinder.volume_path(restored.id)) == sha256(
        cloud.cinder.volume_path(volume.id)
    )
    cloud.delete(backup.id)
    assert _host_of(cloud, 'Delete backup started', backup.id) is other

    durations = {
        f'backup.{operation}.duration'
        for operation in ('create', 'restore', 'delete')
    }

    def metered():
        resource = cloud.gnocchi.resource.get('volume_backup', backup.id)
        assert durations <= set(resource['metrics'])
        assert resource['ended_at'] is not None
        assert resource['service'] == POSIX_BACKUP

    wait_for(metered)
    for meter in durations:
        (duration,) = cloud.measures(backup.id, meter)
        assert duration > 0, meter
    notified = [
        s['resource_metadata']
        for s in cloud.agent.samples()
        if s['resource_id'] == backup.id
        and 'event_type' in s['resource_metadata']
    ]
    assert {m['service'] for m in notified} == {POSIX_BACKUP}
    hosts = {m['event_type']: m['host'] for m in notified}
    assert hosts['backup.create.end'] == made_on.host
    assert hosts['backup.restore.end'] == other.host
    assert hosts['backup.delete.end'] == other.host
    (listed,) = cloud.gnocchi.resource.search(
        resource_type='volume_backup', query={'=': {'id': backup.id}}
    )
    assert listed['id'] == backup.id
