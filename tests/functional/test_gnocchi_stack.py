"""The whole chain, real: Cinder side -> RabbitMQ -> Ceilometer -> Gnocchi.

PostgreSQL, Gnocchi API and metricd, RabbitMQ, ceilometer-agent-notification
and ceilometer-polling run as processes the test owns. ceilometer-upgrade
and ``ceilometer-backup upgrade`` prepare Gnocchi and the config files the
agents then use, the sample pipeline included: made from stock's, every
meter to ``gnocchi://``. The emitter drives a backup's create (with progress),
restore and delete, and a failed create; the pollster lists the same
backup from a loopback Cinder API, plus one nothing notified.
"""

import os
import subprocess
import sys
import time

import pytest
import yaml
from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup import contract as c
from ceilometer_backup.cmd import reconcile as reconcile_module
from ceilometer_backup.emitter.notification import BackupNotifier
from ceilometer_backup.meter.gnocchi import schema
from testcloud import servers
from testcloud.aodh import Aodh, Webhook
from testcloud.gnocchi import measure_counts
from testcloud.ground import MIB
from testcloud.postgresql import PostgreSQL
from testcloud.telemetry import ARCHIVE_POLICY, Telemetry
from tests.support import config
from tests.support.config import cinder_conf
from tests.support.messages import send_volume_exists, volume_notifier
from tests.support.openstack_api import (
    PROJECT_ATTR,
    FakeOpenStack,
    make_backups,
    notified_backup,
)


@pytest.fixture(scope='module')
def stack(rabbitmq, tmp_path_factory):
    root = tmp_path_factory.mktemp('stack')
    database = PostgreSQL()
    api = FakeOpenStack(make_backups(2))
    try:
        database.start()
        api.__enter__()
        with Telemetry(
            root,
            rabbitmq,
            database,
            config.credentials(api),
            deployed_pipeline=True,
        ) as telemetry:
            yield {
                'telemetry': telemetry,
                'gnocchi': telemetry.client,
                'gnocchi_server': telemetry.gnocchi,
                'root': root,
                'api': api,
                'notification': telemetry.notification,
                'rabbitmq': rabbitmq,
                'upgrade': telemetry.upgrade_outputs,
            }
    finally:
        api.__exit__(None, None, None)
        database.stop()


def _wait(check, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, gnocchi_exc.NotFound):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _values(client, resource, metric):
    measures = client.metric.get_measures(
        metric, resource_id=resource, refresh=True, granularity=1
    )
    return [value for _, _, value in measures]


# The policies upgrade makes for the backup meters: this mapping's default
# (ARCHIVE_POLICY, 1-second blocks) with a back window, and backup.idle's
# and backup.status's (5-minute blocks); the back window of an outage of
# an hour, and of three (and a minute of the spool's sender's wait), in
# blocks, and one.
POLICY = f'{ARCHIVE_POLICY["name"]}-back-window'
BACK_WINDOWS = {
    POLICY: (3661, 10861),
    'ceilometer-backup-low-max': (14, 38),
    'ceilometer-backup-low-last': (14, 38),
}


def test_upgrade_is_idempotent(stack):
    first, second = stack['upgrade']
    assert 'created resource type volume_backup' in first
    for name, (hour, _) in BACK_WINDOWS.items():
        assert f'created archive policy {name} (back window {hour})' in first
    assert (
        "backup_meter_sink leaves out the Gnocchi sink's archive_policy="
        f'{ARCHIVE_POLICY["name"]}: the backup meters are on the archive '
        'policies of the volume_backup mapping'
    ) in first
    assert 'Nothing to change' in second
    # The status command finds it all in place.
    code, report = stack['notification'].status()
    assert code == 0, report


def test_another_outage_sets_the_back_window_of_metrics_made(stack, tmp_path):
    """Gnocchi keeps a metric on the policy it was made with: a changed
    outage_minutes reaches it in place (the mapping's policy names stay,
    the policies' definitions in gnocchi_resources.yaml follow)."""
    client, telemetry = stack['gnocchi'], stack['telemetry']
    made = client.metric.create(name='made', archive_policy_name=POLICY)
    longer = tmp_path / 'longer-outage.conf'
    longer.write_text('[backup_gnocchi]\noutage_minutes = 180\n')

    def upgrade(*config_files):
        return servers.run(
            [
                sys.executable, '-m', 'ceilometer_backup.cmd.main',
                'upgrade', '--config-file', telemetry.notification.conf,
                *(arg for f in config_files for arg in ('--config-file', f)),
                '--output-dir', str(telemetry.etc),
            ]
        ).splitlines()  # fmt: skip

    resources = f'wrote {telemetry.etc}/gnocchi_resources.yaml'
    try:
        assert upgrade(str(longer)) == [
            f'archive policy {name}: back window {hour} -> {hours}'
            for name, (hour, hours) in BACK_WINDOWS.items()
        ] + [resources]
        metric = client.metric.get(made['id'])
        assert (
            metric['archive_policy']['back_window']
            == (BACK_WINDOWS[POLICY][1])
        )
    finally:
        # Back to the hour, for the module's other tests: the window
        # narrows again.
        back = upgrade()
        client.metric.delete(made['id'])
    assert back == [
        f'archive policy {name}: back window {hours} -> {hour}'
        for name, (hour, hours) in BACK_WINDOWS.items()
    ] + [resources]
    for name, (hour, _) in BACK_WINDOWS.items():
        assert client.archive_policy.get(name)['back_window'] == hour


def test_backup_metered_in_gnocchi_end_to_end(stack):
    client, api = stack['gnocchi'], stack['api']
    listed, polled_only = api.backups
    # The notified backup is the first one Cinder's API lists, with the
    # API's size differing, to tell polled measures from notified ones.
    backup = {
        'id': listed['id'],
        'project_id': listed['os-backup-project-attr:project_id'],
        'user_id': listed['user_id'],
        'volume_id': listed['volume_id'],
        'display_name': listed['name'],
        'availability_zone': 'az1',
        'host': 'backup-host@posix',
        'service': 'cinder.backup.drivers.posix.PosixBackupDriver',
        'status': 'creating',
        'size': 7,
        'created_at': '2026-11-25T00:00:00',
    }
    failing = dict(backup, id='f0000000-0000-0000-0000-00000000000f')
    notifier = BackupNotifier.from_config(
        cinder_conf(url=stack['rabbitmq'].url, driver='messagingv2'), 'node-1'
    )
    with notifier.operation(None, backup, c.CREATE) as op:
        for _ in range(16):
            op.advance(7 * 1024 * MIB // 16)
        backup['status'] = 'available'
    with notifier.operation(None, backup, c.RESTORE) as op:
        for _ in range(16):
            op.advance(7 * 1024 * MIB // 16)
    with pytest.raises(OSError):
        with notifier.operation(None, failing, c.CREATE):
            raise OSError('repository full')

    def metered():
        resource = client.resource.get('volume_backup', backup['id'])
        metrics = resource['metrics']
        for name in (
            'backup.size',
            'backup',
            'backup.progress',
            'backup.create.duration',
            'backup.restore.duration',
        ):
            assert name in metrics, name
        # ceilometer-high keeps the mean of each second. Notified sizes are
        # 7, the API lists 1: seconds with polled samples only read 1, the
        # one with the notifications more.
        sizes = _values(client, backup['id'], 'backup.size')
        assert listed['size'] in sizes, sizes
        assert any(size > listed['size'] for size in sizes), sizes
        progress = _values(client, backup['id'], 'backup.progress')
        assert progress and all(0 < p <= 100 for p in progress), progress
        return resource

    resource = _wait(metered)
    assert resource['display_name'] == listed['name']
    assert resource['volume_id'] == listed['volume_id']
    assert resource['availability_zone'] == 'az1'
    assert resource['host'] == 'backup-host@posix'
    assert resource['service'].endswith('PosixBackupDriver')
    assert resource['is_incremental'] is False
    assert resource['ended_at'] is None

    def failed():
        assert _values(client, failing['id'], 'backup.error') == [1.0]

    _wait(failed)

    def polled_only_backup():
        sizes = _values(client, polled_only['id'], 'backup.size')
        assert sizes and set(sizes) == {float(polled_only['size'])}

    _wait(polled_only_backup)

    # Cinder deletes it: gone from the API, .delete.* notified.
    api.backups.remove(listed)
    with notifier.operation(None, backup, c.DELETE):
        backup['status'] = 'deleted'

    def ended():
        resource = client.resource.get('volume_backup', backup['id'])
        assert resource['ended_at'] is not None
        assert 'backup.delete.duration' in resource['metrics']

    _wait(ended)
    with pytest.raises(gnocchi_exc.ResourceNotFound):
        client.resource.get('volume', backup['id'])
    log = stack['notification'].log_text()
    assert 'is not handled by Gnocchi' not in log
    assert os.path.exists(stack['notification'].samples_file)
    # The backup meters are on the policies of upgrade's mapping.
    policy_of = {
        name: client.metric.get(metric)['archive_policy']['name']
        for name, metric in resource['metrics'].items()
    }
    assert policy_of.pop('backup.status') == STATUS_POLICY
    assert set(policy_of.values()) == {POLICY}


STATUS_POLICY = 'ceilometer-backup-low-last'
ERROR = 4  # backup.status of a backup in error


def test_a_backup_in_error_fires_a_threshold_alarm_on_its_last_status(
    stack, tmp_path
):
    """backup.status is a code: a tenant's Aodh threshold alarm reads
    its last value in the 5-minute period, which is the backup's status,
    where the period's mean mixes the codes it had."""
    client, api = stack['gnocchi'], stack['api']
    polled = api.backups[-1]
    assert polled['status'] == 'available'

    def status_polled():
        assert client.metric.get('backup.status', resource_id=polled['id'])

    _wait(status_polled)
    aodh = Aodh(
        str(tmp_path / 'aodh'),
        stack['rabbitmq'].url,
        gnocchi=stack['gnocchi_server'].credentials(),
    )
    with aodh, Webhook() as hook:
        try:
            polled['status'] = 'error'
            alarm = aodh.create_alarm(
                {
                    'name': 'backup in error',
                    'type': 'gnocchi_resources_threshold',
                    'project_id': polled[PROJECT_ATTR],
                    'gnocchi_resources_threshold_rule': {
                        'metric': 'backup.status',
                        'resource_type': 'volume_backup',
                        'resource_id': polled['id'],
                        'aggregation_method': 'last',
                        'granularity': 300,
                        'evaluation_periods': 1,
                        'comparison_operator': 'eq',
                        'threshold': ERROR,
                    },
                    'alarm_actions': [hook.url],
                }
            )
            (fired,) = hook.wait(1, timeout=120)
            assert fired['alarm_id'] == alarm['alarm_id']
            assert fired['current'] == 'alarm'
            *_, (_, _, last) = client.metric.get_measures(
                'backup.status',
                resource_id=polled['id'],
                aggregation='last',
                granularity=300,
                refresh=True,
            )
            assert last == ERROR
        finally:
            polled['status'] = 'available'


def _notify(stack, raw, *events, **extra):
    """Send ``events`` for the backup the API lists as ``raw``."""
    backup = notified_backup(raw)
    notifier = BackupNotifier.from_config(
        cinder_conf(url=stack['rabbitmq'].url, driver='messagingv2'), 'node-1'
    )
    for operation in events:
        with notifier.operation(None, backup, operation):
            pass


def test_reconcile_ends_backups_deleted_unseen(stack, tmp_path):
    """A backup Cinder deleted without a notification reaching anyone."""
    client, api = stack['gnocchi'], stack['api']
    gone, kept = make_backups(4)[2:]
    api.backups.extend([gone, kept])
    _notify(stack, gone, c.CREATE)
    _notify(stack, kept, c.CREATE)
    for raw in (gone, kept):
        _wait(lambda raw=raw: client.resource.get('volume_backup', raw['id']))
    api.backups.remove(gone)
    conf = tmp_path / 'reconcile.conf'
    conf.write_text(
        config.credentials(api)
        + '[gnocchi]\nauth_section = gnocchi_credentials\n'
        + stack['gnocchi_server'].credentials('gnocchi_credentials')
    )
    reconcile = [
        sys.executable,
        '-m',
        'ceilometer_backup.cmd.main',
        'reconcile',
        '--config-file',
        str(conf),
    ]
    output = servers.run([*reconcile, '--dry-run'])
    assert f'would end {gone["id"]}' in output
    assert client.resource.get('volume_backup', gone['id'])['ended_at'] is None
    # Credentials Cinder lists one project to: refused, nothing ended.
    api.roles = ['reader', 'service']
    try:
        refused = subprocess.run(reconcile, capture_output=True, text=True)
    finally:
        api.roles = ['admin']
    assert refused.returncode == 1
    assert 'without the admin role' in refused.stderr
    assert client.resource.get('volume_backup', gone['id'])['ended_at'] is None
    output = servers.run(reconcile)
    assert f'ended {gone["id"]}' in output
    assert client.resource.get('volume_backup', gone['id'])['ended_at']
    assert client.resource.get('volume_backup', kept['id'])['ended_at'] is None
    assert (
        servers.run(reconcile)
        .splitlines()[-1]
        .startswith('0 backup resource(s)')
    )
    # Most open resources at once: a listing gone wrong, likelier.
    unlisted = make_backups(5 + reconcile_module.SHARE_FLOOR)[4:]
    for raw in unlisted:
        _notify(stack, raw, c.CREATE)
    for raw in unlisted:
        _wait(lambda raw=raw: client.resource.get('volume_backup', raw['id']))
    guarded = subprocess.run(reconcile, capture_output=True, text=True)
    assert guarded.returncode == 1
    assert (
        f'{len(unlisted)} of {len(unlisted) + 2} open backup resources'
        in guarded.stderr
    )
    assert 'nothing ended' in guarded.stderr
    assert all(
        client.resource.get('volume_backup', raw['id'])['ended_at'] is None
        for raw in unlisted
    )
    output = servers.run([*reconcile, '--max-share', '1'])
    assert f'{len(unlisted)} backup resource(s) ended' in output


def test_the_upgraded_pipeline_meters_each_backup_sample_once(stack):
    """The agent runs the pipeline.yaml ``upgrade`` wrote: each backup
    sample reaches Gnocchi once, through ``backup-gnocchi://``, and a
    stock meter still goes its own way, to its own resource."""
    telemetry, client = stack['telemetry'], stack['gnocchi']
    agent = telemetry.notification
    with open(agent.pipeline) as f:
        deployed = f.read()
    with open(telemetry.etc / 'pipeline.yaml') as f:
        assert deployed == f.read()
    sinks = {
        s['name']: s['publishers'] for s in yaml.safe_load(deployed)['sinks']
    }
    assert any(
        p.startswith('backup-gnocchi://') for p in sinks['backup_meter_sink']
    )
    notifier = volume_notifier(stack['rabbitmq'].url)
    volume_id = send_volume_exists(notifier)

    def stock_path():
        counts = measure_counts(client, 'volume', volume_id, 1)
        assert counts.get('volume.size') == 1, counts

    _wait(stock_path)
    # Backups: what the agent published, counted in Gnocchi once each.
    telemetry.poller.stop()
    backups = {
        r['id']
        for r in client.resource.search(
            resource_type='volume_backup', query={}, limit=1000
        )
    }
    assert len(backups) > 3

    # Those on a policy of their own keep no count: backup.status.
    own = set(schema.OWN_ARCHIVE_POLICIES)

    def once_each():
        published = {
            key: count
            for key, count in agent.distinct_samples(backups).items()
            if key[1] not in own
        }
        counted = {}
        for resource_id in backups:
            for name, count in measure_counts(
                client, 'volume_backup', resource_id, 1, leave_out=own
            ).items():
                counted[resource_id, name] = count
        assert counted == published

    _wait(once_each, timeout=60)
    with pytest.raises(gnocchi_exc.ResourceNotFound):
        client.resource.get('volume_backup', volume_id)
