"""cinder-backup active-active, as clouds run it: two backup hosts of one
availability zone on one backup directory (an NFS share, say), Cinder
sending each operation on a backup to whichever is enabled. Each is a host
of its own (a network namespace, testcloud.hosts) that reaches Cinder's
database and RabbitMQ over the stack's network. Which host did what is read
from each cinder-backup's own log.

Cinder 29's ``PUT /os-services/disable`` and ``/enable`` save the service
without changing it (``cinder/api/v3/services.py``); ``disable-log-reason``
does disable, and nothing enables again: the host the backup was made on
stays disabled in this module's zone.
"""

import time

import pytest

from testcloud.aodh import Webhook
from testcloud.cinder import POSIX_BACKUP, SERVICE_DOWN_TIME
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


IDLE_THRESHOLD = 4  # seconds: the stalled alarm's, for the test


def test_a_host_lost_mid_backup_fires_the_stalled_alarm(cloud, openstack_aodh):
    """A backup host lost whole mid-backup (every process in it SIGKILLed,
    its link down) and not back: Cinder leaves the backup ``creating``, the
    host sends no more progress; the central agent samples the backup's
    backup.idle from when the host last reported to Cinder, which fires
    the shipped stalled-backup alarm. The admin's reset of its state goes
    to the other host of the zone, and reaches Gnocchi as it happens."""
    with Webhook() as hook:
        _, backup = cloud.backup_under_way('lost')
        lost = _host_of(cloud, 'Create backup started', backup.id)
        (other,) = [h for h in cloud.cinder.hosts_of(STORE) if h is not lost]
        try:
            assert cloud.cinder.processes[lost.service].pid in (
                lost.machine.pids()
            ), 'cinder-backup runs on its host'
            lost.machine.kill()
            lost.machine.cut()
            lost_at = time.time()

            def down():
                (service,) = cloud.admin.services.list(
                    host=lost.host, binary='cinder-backup'
                )
                assert service.state == 'down'

            wait_for(down, timeout=SERVICE_DOWN_TIME + 60)
            # Made now, it fires on the agent's samples, not on a stall
            # the wrapper reported before the host was lost.
            alarm_id = openstack_aodh.create_stalled_alarm(
                hook.url, IDLE_THRESHOLD
            )
            (fired,) = hook.wait(1, timeout=120)
            assert fired['alarm_id'] == alarm_id
            assert fired['current'] == 'alarm'
            assert cloud.admin.backups.get(backup.id).status == 'creating'
            polled = [
                s['volume']
                for s in cloud.samples(backup.id, 'backup.idle')
                if s['resource_metadata'].get('host') == lost.host
            ]
            # From the host's last report: at least Cinder's
            # service_down_time before, at most the time since it was lost
            # and one report interval.
            assert polled, 'sampled, naming the lost host'
            assert all(
                SERVICE_DOWN_TIME <= idle <= time.time() - lost_at + 3
                for idle in polled
            ), polled
            cloud.admin.backups.reset_state(backup.id, 'error')

            reset = cloud.reset_metered(backup.id, 'error')
            assert reset['resource_metadata']['host'] == other.host

            def polled_in_error():
                return {
                    s['timestamp']
                    for s in cloud.samples(backup.id, 'backup.status')
                    if s['resource_metadata']['status'] == 'error'
                }

            # In error, it is no longer idle: the cycles that polled it so
            # (two, the first one whole) sampled no backup.idle.
            wait_for(lambda: len(polled_in_error()) > 1)
            after = min(polled_in_error())
            assert not [
                s
                for s in cloud.samples(backup.id, 'backup.idle')
                if s['timestamp'] >= after
            ]
        finally:
            lost.machine.join()
            cloud.cinder.restart_backup(host=lost)
        cloud.delete(backup.id)


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
