"""A ten-minute Gnocchi outage, with the archive policy the docs recommend.

A real ``ceilometer-agent-notification`` publishes every meter to
``backup-gnocchi://`` and to a file (a second publisher), and
``ceilometer-polling`` polls the same backups every 3 seconds. While
gnocchi-api is down, backups are created (with progress), fail and are
deleted, a volume notification (stock ``volume.size``) is sent each round
and watched for in the file, and the agent is SIGKILLed and restarted
halfway. The metrics are created with ``ceilometer-low``'s definition and
back window, plus ``count`` so that Gnocchi can say how many measures it
holds.
"""

import contextlib
import os
import signal
import time
import uuid
from importlib import resources

import pytest
import yaml
from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from ceilometer_backup.meter.gnocchi import schema
from testcloud.ceilometer_services import distinct_samples
from testcloud.cloud import wait_for
from testcloud.gnocchi import counts_by_resource, measure_counts
from testcloud.ground import MIB
from testcloud.postgresql import PostgreSQL
from testcloud.rabbitmq import RabbitMQ
from testcloud.redis import Redis
from testcloud.telemetry import Telemetry
from tests.support import config
from tests.support.messages import send_volume_exists, volume_notifier
from tests.support.openstack_api import (
    FakeOpenStack,
    make_backups,
    notified_backup,
)

OUTAGE = 600  # seconds
ROUND = 20  # seconds between two rounds of backups
# How late a stock sample may be published while Gnocchi is down: the
# agent's batch_timeout is 1 s.
ON_TIME = 10
GRANULARITY = 300


def _low_count():
    """Ceilometer's own ``ceilometer-low``, with ``count`` added."""
    with (
        resources.files('ceilometer.publisher.data')
        .joinpath('gnocchi_resources.yaml')
        .open() as f
    ):
        policies = yaml.safe_load(f)['archive_policies']
    (low,) = [p for p in policies if p['name'] == 'ceilometer-low']
    # What decides which late measures Gnocchi drops.
    assert low['back_window'] == 0
    assert [d['granularity'] for d in low['definition']] == ['5 minutes']
    return dict(
        low,
        name='ceilometer-low-count',
        aggregation_methods=[*low['aggregation_methods'], 'count'],
    )


@pytest.fixture
def stack(rabbitmq, tmp_path_factory):
    root = tmp_path_factory.mktemp('outage')
    database = PostgreSQL()
    api = FakeOpenStack()
    try:
        database.start()
        api.__enter__()
        with Telemetry(
            root,
            rabbitmq,
            database,
            config.credentials(api),
            archive_policy=_low_count(),
        ) as telemetry:
            yield telemetry, api
    finally:
        api.__exit__(None, None, None)
        database.stop()


class _Cloud:
    """What a Cinder cloud sends and lists during the outage."""

    def __init__(self, rabbitmq, api):
        self.api = api
        conf = config.cinder_conf(
            url=rabbitmq.url, driver='messagingv2', progress_every_objects=1
        )
        self.backups = BackupNotifier.from_config(conf, 'node-1')
        self.volumes = volume_notifier(rabbitmq.url)
        self.created, self.failed, self.deleted = [], [], []

    def backup(self, fail):
        raw = dict(make_backups(1)[0], id=str(uuid.uuid4()))
        backup = notified_backup(raw)
        try:
            with self.backups.operation(None, backup, c.CREATE) as op:
                for _ in range(4):
                    op.advance(backup['size'] * 256 * MIB)
                if fail:
                    raise OSError('repository full')
        except OSError:
            self.failed.append(raw['id'])
            return
        self.api.backups.append(raw)
        self.created.append(raw['id'])

    def delete_one(self):
        raw = self.api.backups.pop(0)
        with self.backups.operation(None, notified_backup(raw), c.DELETE):
            pass
        self.deleted.append(raw['id'])

    def volume(self):
        return send_volume_exists(self.volumes)


def _volume_sizes(agent):
    """volume id -> how many volume.size samples the file publisher has."""
    found = {}
    for sample in agent.samples():
        if sample['name'] == 'volume.size':
            found[sample['resource_id']] = (
                found.get(sample['resource_id'], 0) + 1
            )
    return found


def test_a_ten_minute_outage_costs_other_meters_nothing_and_loses_nothing(
    stack, rabbitmq
):
    telemetry, api = stack
    client, agent = telemetry.client, telemetry.notification
    cloud = _Cloud(rabbitmq, api)
    telemetry.gnocchi.stop_api()
    start = time.monotonic()
    lateness, rounds, restarted_at = [], 0, None
    while time.monotonic() - start < OUTAGE:
        rounds += 1
        round_start = time.monotonic()
        cloud.backup(fail=rounds % 3 == 0)
        if rounds % 4 == 0:
            cloud.delete_one()
        cloud.backups.flush()
        volume_id = cloud.volume()
        sent = time.monotonic()
        # The round after the restart waits for the agent to start.
        restarting = restarted_at == rounds - 1
        agent.wait_for_samples(
            lambda _, v=volume_id: v in _volume_sizes(agent),
            timeout=60 if restarting else 3 * ON_TIME,
        )
        if not restarting:
            lateness.append(time.monotonic() - sent)
        if restarted_at is None and time.monotonic() - start > OUTAGE / 2:
            # Once the volume's batch is acknowledged: a message the agent
            # had not acknowledged is delivered again, by design.
            time.sleep(5)
            os.killpg(agent.process.pid, signal.SIGKILL)
            agent.process.wait(10)
            agent.start()
            restarted_at = rounds
        time.sleep(max(0, ROUND - (time.monotonic() - round_start)))
    # Every backup sample of the outage published, no more polling.
    telemetry.poller.stop()
    wanted = set(cloud.created + cloud.failed)
    agent.wait_for_meters(cloud.created, ['backup.create.duration'])
    agent.wait_for_meters(cloud.failed, ['backup.error'])
    kept = _kept(agent)
    kept_bytes = sum(
        os.path.getsize(os.path.join(agent.spool_dir, n)) for n in kept
    )
    kept_samples = 0
    for name in kept:
        with open(os.path.join(agent.spool_dir, name)) as f:
            kept_samples += sum(1 for _ in f)
    outage = time.monotonic() - start
    # What the status command tells an operator meanwhile.
    code, report = agent.status()
    assert code == 2, report
    assert report['Archive policies of the backup meters'].startswith(
        'cannot reach Gnocchi'
    ), report
    assert (
        f'batches kept in {agent.spool_dir} since '
        in (report['Spool of backup samples'])
    ), report
    telemetry.gnocchi.start_api()
    back = time.monotonic()

    sizes = _volume_sizes(agent)
    print(
        f'\noutage {outage:.0f} s, {rounds} rounds: {len(cloud.created)} '
        f'backups created, {len(cloud.failed)} failed, '
        f'{len(cloud.deleted)} deleted; stock volume.size published '
        f'{max(lateness):.1f} s at most after its notification '
        f'(median {sorted(lateness)[len(lateness) // 2]:.1f} s), '
        f'{len(sizes)} volumes, each {set(sizes.values())} time(s); '
        f'{len(kept)} batches, {kept_samples} samples kept in '
        f'{kept_bytes} bytes'
    )
    assert set(sizes.values()) == {1}
    assert max(lateness) < ON_TIME

    published = agent.distinct_samples(wanted)
    polled = sum(
        count
        for (resource_id, name), count in published.items()
        if name == 'backup.size' and resource_id in cloud.created
    )
    # Polled and event samples interleave on the same backups.
    assert polled > 4 * len(cloud.created)

    def all_in():
        assert (
            counts_by_resource(client, 'volume_backup', wanted, GRANULARITY)
            == published
        )
        for resource_id in cloud.deleted:
            resource = client.resource.get('volume_backup', resource_id)
            assert resource['ended_at'] is not None, resource_id

    def spool_empty():
        assert not _kept(agent)

    wait_for(spool_empty, timeout=300)
    print(f'kept batches sent {time.monotonic() - back:.0f} s after Gnocchi')
    wait_for(all_in, timeout=300)
    code, report = agent.status()
    assert code == 0, report
    assert report['Spool of backup samples'].startswith('nothing kept')
    log = agent.log_text()
    assert 'Gnocchi could not take' in log
    assert 'Gnocchi takes backup samples again' in log
    assert 'Traceback' not in log


# Several notification agents, each with a spool of its own: the outage,
# on a time scale of seconds. BLOCK: the policy's only granularity, the
# block Gnocchi aggregates in.
BLOCK = 5
HOSTS_OUTAGE = 4 * BLOCK
# What ceilometer-backup upgrade gives a policy for that outage.
BACK_WINDOW = schema.back_window(
    {'definition': [{'granularity': f'{BLOCK}s'}]}, HOSTS_OUTAGE
)
# Where the notifier sends and the agents take from (oslo.messaging's
# default topic, at the info priority).
NOTIFICATIONS_QUEUE = 'notifications.info'


@pytest.fixture(scope='module')
def three_hosts(tmp_path_factory):
    """Gnocchi and three notification agents, as on three controllers,
    on a broker of their own: no other agent takes a share of the
    notifications (with three messages a round, it would always take the
    same backup's); two gnocchi-metricd sharing the sacks through Redis,
    as on two controllers; the metrics' policy has BACK_WINDOW as its
    back window. (Telemetry, RabbitMQ)."""
    root = tmp_path_factory.mktemp('outage-hosts')
    (root / 'rabbitmq').mkdir()
    with (
        RabbitMQ(str(root / 'rabbitmq')) as rabbitmq,
        Redis(str(root / 'redis')) as redis,
        PostgreSQL() as database,
        FakeOpenStack() as api,
        Telemetry(
            root,
            rabbitmq,
            database,
            config.credentials(api),
            archive_policy={
                'name': f'blocks-back-window-{BACK_WINDOW}',
                'back_window': BACK_WINDOW,
                'aggregation_methods': ['mean', 'count'],
                'definition': [
                    {'granularity': f'{BLOCK}s', 'timespan': '1 day'}
                ],
            },
            notification_agents=3,
            metricd=2,
            coordination_url=redis.coordination_url(),
        ) as telemetry,
    ):
        yield telemetry, rabbitmq


def test_three_hosts_spooling_through_an_outage_lose_nothing(three_hosts):
    """Progress of three backups, a report every half second, each taken by
    whichever agent the broker hands it to; gnocchi-api stopped for four
    blocks; when it is back, the hosts send their spools one after the
    other (each stopped until the one before has sent its spool and
    Gnocchi has aggregated it), as hosts that notice on their own
    schedules do. Gnocchi drops a later host's measures older than the
    newest block it has aggregated, less the back window (without one,
    runs of two hosts here lost 48 to 104 of about 160, or none when the
    broker gave the later host no message older than the other's newest
    block): with the one ``ceilometer-backup upgrade`` gives a policy for
    that outage, nothing is lost."""
    telemetry, rabbitmq = three_hosts
    client = telemetry.client
    # Both metricd joined Gnocchi's group and share the sacks.
    wait_for(lambda: len(client.status.get()['metricd']['processors']) == 2)
    first, *later = telemetry.notifications
    notifier = BackupNotifier.from_config(
        config.cinder_conf(
            url=rabbitmq.url, driver='messagingv2', progress_every_objects=1
        ),
        'node-1',
    )
    raws = [dict(make_backups(1)[0], id=str(uuid.uuid4())) for _ in range(3)]
    wanted = {raw['id'] for raw in raws}
    with contextlib.ExitStack() as operations:
        ops = [
            operations.enter_context(
                notifier.operation(None, notified_backup(raw), c.CREATE)
            )
            for raw in raws
        ]
        start = time.monotonic()

        def report_until(seconds):
            while time.monotonic() - start < seconds:
                for op in ops:
                    op.advance(64 * MIB)
                notifier.flush()
                time.sleep(0.5)

        report_until(2 * BLOCK)
        telemetry.gnocchi.stop_api()
        report_until(2 * BLOCK + HOSTS_OUTAGE)
    notifier.flush()
    # Every host has kept some of the outage's batches.
    for host in telemetry.notifications:
        wait_for(lambda h=host: _kept(h))
    for host in later:
        os.killpg(host.process.pid, signal.SIGSTOP)
    try:
        telemetry.gnocchi.start_api()
        for host in telemetry.notifications:
            os.killpg(host.process.pid, signal.SIGCONT)
            wait_for(lambda h=host: not _kept(h), timeout=180)
            _aggregate(client, wanted)
    finally:
        for host in later:
            os.killpg(host.process.pid, signal.SIGCONT)
    # Every message taken and acknowledged (an agent acknowledges a batch
    # once published: to the samples file first), every batch sent.
    wait_for(
        lambda: (
            not (
                rabbitmq.queued(NOTIFICATIONS_QUEUE)
                or any(_kept(h) for h in telemetry.notifications)
            )
        ),
        timeout=180,
    )

    published = distinct_samples(telemetry.notifications, wanted)
    progress = {
        k: n for k, n in published.items() if k[1] == 'backup.progress'
    }
    assert len(progress) == len(wanted)

    lost = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counted = counts_by_resource(client, 'volume_backup', wanted, BLOCK)
        lost = {key: published[key] - counted.get(key, 0) for key in progress}
        if not any(lost.values()):
            break
        time.sleep(2)
    print(
        f'\nback_window {BACK_WINDOW}: {sum(progress.values())} progress '
        f'measures published by three hosts, {sum(lost.values())} not '
        'counted'
    )
    assert not any(lost.values()), lost
    for host in telemetry.notifications:
        assert 'Traceback' not in host.log_text(), host.log


def _aggregate(client, backup_ids):
    """Have Gnocchi aggregate what it holds of the backups (a backup whose
    messages all went to hosts not yet sent has no resource yet)."""
    for backup_id in backup_ids:
        try:
            measure_counts(client, 'volume_backup', backup_id, BLOCK)
        except gnocchi_exc.NotFound:
            pass


def _kept(agent):
    """The batches the agent's spool holds."""
    return [n for n in os.listdir(agent.spool_dir) if n.endswith('.json')]
