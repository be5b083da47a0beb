"""A real OpenStack: backups made through Cinder's API, metered in Gnocchi.

Keystone 30, cinder-api, -scheduler, -volume and -backup 29 (cinder-backup
configured with etc/cinder/cinder.conf.snippet as shipped, around the real
PosixBackupDriver), RabbitMQ, PostgreSQL, Gnocchi 4.7.1 and Ceilometer's
notification and central polling agents, the pollster authenticating to
Keystone and listing the real cinder-api. Everything is driven as a
tenant would, with python-cinderclient over a keystoneauth1 session, and
measured with something other than the code under test: the backup
files' sizes on disk, the bytes of the restored volume, Gnocchi's
measures, Cinder's own statuses.
"""

import subprocess
import sys
import time

import pytest
from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup.meter.cinder import CinderBackups, NotWholeCloud
from ceilometer_backup.meter.discovery import BackupDiscovery
from testcloud.cloud import PAGE, sha256, wait_for
from testcloud.ground import MIB
from testcloud.scripts.cinder_database import size_of
from tests.support import config, tenant_input
from tests.support.checks import errors_of_this_package
from tests.support.recorders import listening

POSIX = 'cinder.backup.drivers.posix.PosixBackupDriver'
SHA_BLOCK = 32768  # Cinder's backup_sha_block_size_bytes
LISTED = 250  # backups put straight into Cinder's database


pytestmark = pytest.mark.backup_stores('posix')


@pytest.fixture(scope='module')
def cloud(openstack):
    with openstack.as_tenant('openstack') as cloud:
        yield cloud


def test_backups_made_through_cinders_api_are_metered_in_gnocchi(cloud):
    volume = cloud.volume()
    path = cloud.cinder.volume_path(volume.id)
    cloud.write(volume.id, 8)
    cloud.write(volume.id, 4, at_mib=512)
    # Cinder's control exchange: it sets none, oslo.messaging's default.
    with listening(
        cloud.rabbitmq.url, exchange='openstack', pool='test-openstack'
    ) as bus:
        full = cloud.backup(volume.id, name='full')
        assert full.status == 'available'
        full_on_disk = cloud.on_disk(full.id)
        # The pollster lists it from the real API before it goes on.
        wait_for(
            lambda: [
                s
                for s in cloud.samples(full.id, 'backup.size')
                if 'event_type' not in s['resource_metadata']
            ]
        )
        cloud.write(volume.id, 2, at_mib=3)
        incremental = cloud.backup(volume.id, name='inc', incremental=True)
        assert incremental.status == 'available'
        incremental_on_disk = cloud.on_disk(incremental.id)
        restored = cloud.restored(incremental.id)
        assert sha256(cloud.cinder.volume_path(restored.id)) == sha256(path)
        cloud.delete(incremental.id)
        cloud.delete(full.id)
        # A failure inside the driver.
        failed = cloud.failed_backup(volume.id, 'blocked')
    assert failed.status == 'error'
    assert 'Not a directory' in cloud.admin.backups.get(failed.id).fail_reason

    # What went over the bus: no stock chunked progress (a chunk list, a
    # percentage of blocks), Cinder's .end with the measured figures.
    ours = {full.id, incremental.id, failed.id}
    backup_events = [
        m
        for m in bus.messages
        if m['event_type'].startswith('backup.')
        and m['payload'].get('backup_id') in ours
    ]
    assert not [m for m in backup_events if 'list' in m['payload']]
    ends = {
        (m['payload']['backup_id'], m['event_type']): m['payload']
        for m in backup_events
        if m['event_type'].endswith('.end')
    }
    assert (full.id, 'backup.create.end') in ends, [
        (m['event_type'], m['payload'].get('backup_id')) for m in bus.messages
    ]
    assert ends[full.id, 'backup.create.end']['stored_bytes'] == full_on_disk
    assert {m['payload']['service'] for m in backup_events} == {POSIX}

    client = cloud.gnocchi
    expected = {
        full.id: {
            'backup.create.duration',
            'backup.delete.duration',
            'backup.stored.size',
            'backup.changed.size',
        },
        incremental.id: {
            'backup.create.duration',
            'backup.restore.duration',
            'backup.delete.duration',
            'backup.stored.size',
            'backup.changed.size',
        },
    }

    def metered():
        for backup_id, meters in expected.items():
            resource = client.resource.get('volume_backup', backup_id)
            names = set(resource['metrics'])
            assert meters | {'backup', 'backup.size', 'backup.progress'} <= (
                names
            ), backup_id
            assert resource['ended_at'] is not None
        assert cloud.measures(failed.id, 'backup.error') == [1.0]

    wait_for(metered)
    full_resource = client.resource.get('volume_backup', full.id)
    incremental_resource = client.resource.get('volume_backup', incremental.id)
    for resource in (full_resource, incremental_resource):
        assert resource['volume_id'] == volume.id
        assert resource['availability_zone'] == volume.availability_zone
        assert resource['host'] == cloud.backup_host.host
        assert resource['service'] == POSIX
        assert resource['project_id'] == cloud.project_id
    assert full_resource['is_incremental'] is False
    assert incremental_resource['is_incremental'] is True
    assert incremental_resource['parent_id'] == full.id

    # What each stores, as the files on disk say, at the create and at
    # every poll after it; what each carries.
    assert set(cloud.measures(full.id, 'backup.stored.size')) == {full_on_disk}
    assert set(cloud.measures(incremental.id, 'backup.stored.size')) == {
        incremental_on_disk
    }
    assert cloud.measures(full.id, 'backup.changed.size') == [1024 * MIB]
    (changed,) = cloud.measures(incremental.id, 'backup.changed.size')
    assert abs(changed - 2 * MIB) <= SHA_BLOCK
    # Every successful operation has its duration.
    for backup_id, meters in expected.items():
        for meter in meters:
            if meter.endswith('.duration'):
                (duration,) = cloud.measures(backup_id, meter)
                assert 0 < duration < 120, (backup_id, meter)
    # Progress rises to 100 for each create and the restore.
    for backup_id, operations in (
        (full.id, ['create']),
        (incremental.id, ['create', 'restore']),
    ):
        progress = sorted(
            cloud.samples(backup_id, 'backup.progress'),
            key=lambda s: s['timestamp'],
        )
        for operation in operations:
            percents = [
                s['volume']
                for s in progress
                if s['resource_metadata']['operation'] == operation
            ]
            assert percents == sorted(percents), (backup_id, operation)
            assert percents[-1] == 100.0, (backup_id, operation)
        # The max of each second: the last two reports may share one.
        assert max(cloud.measures(backup_id, 'backup.progress', 'max')) == 100
    # The polled sizes land on the same metric: 1 GiB, as the API lists.
    polled = [
        s['volume']
        for s in cloud.samples(full.id, 'backup.size')
        if 'event_type' not in s['resource_metadata']
    ]
    assert polled and set(polled) == {1}
    assert sum(cloud.measures(full.id, 'backup.size', 'count')) == len(
        {s['id'] for s in cloud.samples(full.id, 'backup.size')}
    )
    # Nothing of a backup under the stock volume resource type.
    for backup_id in (full.id, incremental.id, failed.id):
        with pytest.raises(gnocchi_exc.ResourceNotFound):
            client.resource.get('volume', backup_id)
    log = cloud.agent.log_text()
    assert 'is not handled by Gnocchi' not in log
    assert 'Traceback' not in log


def test_cinder_backup_killed_mid_backup_ends_in_error_everywhere(cloud):
    volume, victim = cloud.backup_under_way('victim')
    cloud.restart_backup(kill=True)
    # Cinder resets it on start-up (and a redelivered request of the
    # killed process may then find the volume no longer backing up)...
    cloud.wait(lambda: cloud.tenant.backups.get(victim.id), 'error')

    # ...and metering says so: an error, progress that never said 100,
    # and the pollster's next cycle lists it in error.
    def failed():
        assert cloud.measures(victim.id, 'backup.error') == [1.0]
        polled = [
            s['resource_metadata']['status']
            for s in cloud.samples(victim.id, 'backup.size')
            if 'event_type' not in s['resource_metadata']
        ]
        assert 'error' in polled

    wait_for(failed)
    assert max(cloud.measures(victim.id, 'backup.progress', 'max')) < 100
    cloud.wait(lambda: cloud.tenant.volumes.get(volume.id), 'available')


def test_the_pollster_pages_through_the_real_cinder_api(cloud):
    listed = cloud.cinder.put_backups(cloud.project_id, LISTED)
    sizes = {backup_id: size_of(n) for n, backup_id in enumerate(listed)}

    def all_polled():
        polled = {
            s['resource_id']: s['volume']
            for s in cloud.agent.samples()
            if s['name'] == 'backup.size' and s['resource_id'] in sizes
        }
        assert polled == sizes

    try:
        wait_for(all_polled, timeout=180)
    finally:
        # Later modules' polling cycles need not list them.
        cloud.cinder.remove_put_backups(cloud.project_id)
    with open(cloud.cinder.log_of('cinder-api')) as f:
        pages = [
            line
            for line in f
            if '/backups/detail' in line and f'limit={PAGE}' in line
        ]
    assert len({line for line in pages if 'marker=' in line}) >= 2


def test_credentials_without_admin_are_refused_not_taken_for_the_cloud(
    cloud, tmp_path, caplog
):
    """The real cinder-api 29 and Keystone 30 with their policy defaults
    (new defaults, scope enforced): the reader role gets its own project's
    backups (none), all_tenants ignored."""
    reader = cloud.central_conf(
        tmp_path / 'metering-reader.conf', 'metering-reader'
    )
    with pytest.raises(NotWholeCloud) as refused:
        CinderBackups(config.prepare_service([reader])).records()
    why = 'user metering-reader in project service (roles: reader)'
    assert why in str(refused.value)
    assert 'Give that user the admin role in its project' in str(refused.value)
    # The pollster: an ERROR saying so, no backup.
    discovery = BackupDiscovery(config.prepare_service([reader]))
    with caplog.at_level('ERROR'):
        assert discovery.discover(None) == []
    (error,) = errors_of_this_package(caplog)
    assert why in error and 'without the admin role' in error
    # reconcile: ends nothing, fails, with the same line.
    # (Open resources of the backups the earlier tests made and listed.)
    open_before = _open_backup_resources(cloud)
    assert open_before
    done = subprocess.run(
        [sys.executable, '-m', 'ceilometer_backup.cmd.main', 'reconcile',
         '--config-file', reader],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert why in done.stderr and 'nothing ended' in done.stderr
    # Every one still open (the polling agent may be adding more).
    assert open_before <= _open_backup_resources(cloud)
    # Keystone's service role alone: Cinder's policy refuses the list.
    service = cloud.central_conf(
        tmp_path / 'metering-service.conf', 'metering-service'
    )
    with pytest.raises(NotWholeCloud) as refused:
        CinderBackups(config.prepare_service([service])).records()
    assert 'Cinder refuses to list backups (' in str(refused.value)
    assert 'user metering-service in project service (roles: service)' in (
        str(refused.value)
    )
    # The admin role lists every project's, the demo tenant's among them.
    admin = cloud.central_conf(tmp_path / 'ceilometer.conf', 'ceilometer')
    every = {
        r.id for r in CinderBackups(config.prepare_service([admin])).records()
    }
    demo = {b.id for b in cloud.tenant.backups.list()}
    assert demo and demo <= every


def _open_backup_resources(cloud):
    return {
        r['id']
        for r in cloud.gnocchi.resource.search(
            resource_type='volume_backup',
            query={'=': {'ended_at': None}},
            limit=1000,
        )
    }


def test_tenant_strings_stay_data(cloud):
    """A name and description at their most awkward, and metadata named
    like the figures of a bill, through cinder-api: carried as written,
    obeyed nowhere."""
    volume = cloud.volume()
    cloud.write(volume.id, 4)
    backup = cloud.backup(
        volume.id,
        name=tenant_input.NAME,
        description=tenant_input.DESCRIPTION,
        metadata=tenant_input.METADATA,
    )
    assert backup.status == 'available'
    listed = cloud.tenant.backups.get(backup.id)
    assert listed.name == tenant_input.NAME
    assert listed.metadata == tenant_input.METADATA
    on_disk = cloud.on_disk(backup.id)
    demo = cloud.project_id

    def metered():
        resource = cloud.gnocchi.resource.get('volume_backup', backup.id)
        assert resource['display_name'] == tenant_input.NAME
        assert resource['stored_bytes'] == on_disk
        assert resource['project_id'] == demo
        assert set(cloud.measures(backup.id, 'backup.size')) == {1.0}
        stored = cloud.measures(backup.id, 'backup.stored.size')
        assert stored and set(stored) == {on_disk}

    wait_for(metered)
    # Neither agent logs a tenant's string, so none splits a log line.
    for agent in (cloud.agent, cloud.telemetry.poller):
        assert tenant_input.MARKER not in agent.log_text(), agent.log


def test_an_admins_status_reset_reaches_gnocchi_as_it_happens(cloud):
    """``cinder backup-reset-state``: Cinder's manager sends
    backup.reset_status.end with the new status, metered as it arrives
    rather than at the next polling cycle."""
    volume = cloud.volume()
    backup = cloud.backup(volume.id, name='reset')
    assert backup.status == 'available'
    cloud.admin.backups.reset_state(backup, 'error')
    cloud.wait(lambda: cloud.tenant.backups.get(backup.id), 'error')

    reset = cloud.reset_metered(backup.id, 'error')
    assert reset['volume'] == backup.size


def test_rabbitmq_restarted_during_a_backup(cloud):
    """What an operator sees: the wrapper never holds the backup up, but
    Cinder's own RPC does not survive the restart (a reply lost with the
    broker's queues: MessagingTimeout) and Cinder fails the backup. Then
    metering says error too: the pollster's backup.status in Gnocchi."""
    _, backup = cloud.backup_under_way('through-an-outage')
    cloud.rabbitmq.stop_broker()
    try:
        time.sleep(5)
    finally:
        cloud.rabbitmq.start()
    done = cloud.wait(
        lambda: cloud.tenant.backups.get(backup.id), 'available', 'error'
    )
    if done.status == 'available':
        # Cinder's RPC came through: the .end, sent after, is metered.
        wait_for(lambda: cloud.measures(backup.id, 'backup.create.duration'))
        return
    reason = cloud.admin.backups.get(backup.id).fail_reason
    assert 'MessagingTimeout' in reason or 'Timed out' in reason, reason
    # backup.status: error is 4.
    wait_for(lambda: 4.0 in cloud.measures(backup.id, 'backup.status'))


def test_stock_cinder_backup_owns_every_backup_once_the_wrapper_is_gone(
    cloud,
):
    """doc/source/uninstall.md's Cinder steps: cinder-backup back on its
    own driver and manager, nothing of the wrapper in its configuration.
    It restores and deletes what the wrapper left, failed backups too
    (Cinder records the service before the driver runs)."""
    volume = cloud.volume()
    path = cloud.cinder.volume_path(volume.id)
    cloud.write(volume.id, 4)
    kept = cloud.backup(volume.id, name='kept')
    failed = cloud.failed_backup(volume.id, 'blocked-too')
    assert (kept.status, failed.status) == ('available', 'error')
    cloud.restart_backup(kill=False, metered=False)
    try:
        restored = cloud.restored(kept.id)
        assert sha256(cloud.cinder.volume_path(restored.id)) == sha256(path)
        cloud.delete(kept.id)
        cloud.delete(failed.id)
    finally:
        cloud.restart_backup(kill=False, metered=True)
