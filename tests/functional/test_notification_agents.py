"""Three ``ceilometer-agent-notification`` hosts on one broker, as on three
controllers: they consume the same queues, each publishing to
``backup-gnocchi://`` with a spool of its own. Each controller is a host of
its own (a network namespace, testcloud.hosts); RabbitMQ and gnocchi-api
listen on the bridge's address, as on a management network. Gnocchi's
``count`` says how many measures it holds of each backup's metrics, the
agents' second publisher (a file each) what they published.
"""

import contextlib
import time
import uuid

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from testcloud.ceilometer_services import distinct_samples
from testcloud.cloud import wait_for
from testcloud.gnocchi import counts_by_resource
from testcloud.ground import MIB
from testcloud.hosts import Network
from testcloud.postgresql import PostgreSQL
from testcloud.rabbitmq import RabbitMQ
from testcloud.telemetry import ARCHIVE_POLICY, Telemetry
from tests.support import config
from tests.support.messages import send_volume_exists, volume_notifier
from tests.support.openstack_api import (
    FakeOpenStack,
    make_backups,
    notified_backup,
)

BACKUPS = 30
GRANULARITY = 1  # ARCHIVE_POLICY's


@pytest.fixture(scope='module')
def controllers(tmp_path_factory):
    """(Telemetry, the transport URL its hosts reach RabbitMQ by)."""
    root = tmp_path_factory.mktemp('three-agents')
    with contextlib.ExitStack() as stack:
        network = stack.enter_context(Network())
        (root / 'rabbitmq').mkdir()
        broker = stack.enter_context(
            RabbitMQ(str(root / 'rabbitmq'), address=network.address)
        )
        url = broker.add_hosts_user()
        database = stack.enter_context(PostgreSQL())
        api = stack.enter_context(FakeOpenStack())
        telemetry = stack.enter_context(
            Telemetry(
                root,
                broker,
                database,
                config.credentials(api),
                notification_agents=3,
                network=network,
                transport_url=url,
            )
        )
        yield telemetry, url


def test_three_agents_one_killed_mid_stream_lose_nothing_end_each_once(
    controllers,
):
    """Backups created with progress, a third of them deleted, the
    messages shared by three agents; one controller killed whole halfway
    (its link down, every process in it SIGKILLed), any message its agent
    had not acknowledged going to the other two. Every sample an agent
    published is counted in Gnocchi, every deleted backup's resource is
    ended, no other is."""
    telemetry, url = controllers
    assert ARCHIVE_POLICY['definition'][0]['granularity'] == '1s'
    notifier = BackupNotifier.from_config(
        config.cinder_conf(
            url=url, driver='messagingv2', progress_every_objects=1
        ),
        'node-1',
    )
    raws = [
        dict(make_backups(1)[0], id=str(uuid.uuid4())) for _ in range(BACKUPS)
    ]
    deleted = {raw['id'] for raw in raws[::3]}
    killed = telemetry.notifications[2]
    _until_each_consumes(telemetry.notifications, url)
    for n, raw in enumerate(raws):
        backup = notified_backup(raw)
        with notifier.operation(None, backup, c.CREATE) as op:
            for _ in range(4):
                op.advance(backup['size'] * 256 * MIB)
        if raw['id'] in deleted:
            with notifier.operation(None, backup, c.DELETE):
                pass
        notifier.flush()
        if n == BACKUPS // 2:
            # Killed first: the kernel closes its connections, and
            # RabbitMQ gives its unacknowledged messages to the others at
            # once (a host that loses power: after the heartbeat timeout,
            # 60 s by default).
            killed.on.kill()
            killed.on.cut()
            killed.process.wait(10)
        time.sleep(0.2)
    wanted = {raw['id'] for raw in raws}
    alive = telemetry.notifications[:2]
    client = telemetry.client

    def published():
        return distinct_samples(telemetry.notifications, wanted)

    def every_create_ended():
        done = {
            r for r, name in published() if name == 'backup.create.duration'
        }
        assert done == wanted

    wait_for(every_create_ended, timeout=120)
    took = {
        agent.host
        for agent in telemetry.notifications
        for sample in agent.samples()
        if sample['resource_id'] in wanted
    }
    assert len(took) == 3, 'each agent took a share of the backups'
    expected = published()

    def counted():
        found = counts_by_resource(
            client, 'volume_backup', wanted, GRANULARITY
        )
        lost = {k: n for k, n in expected.items() if found.get(k, 0) < n}
        assert not lost, lost
        return found

    found = wait_for(counted, timeout=180)
    twice = sum(found[k] - n for k, n in expected.items())
    print(
        f'\n{sum(expected.values())} samples published by three agents, '
        f'one killed halfway: all counted in Gnocchi, {twice} twice (a '
        'message the killed agent had published but not acknowledged)'
    )

    def ended():
        for backup_id in wanted:
            resource = telemetry.client.resource.get(
                'volume_backup', backup_id
            )
            assert (resource['ended_at'] is not None) == (
                backup_id in deleted
            ), backup_id

    wait_for(ended, timeout=60)
    for agent in alive:
        assert 'Traceback' not in agent.log_text(), agent.log


def _until_each_consumes(agents, url, timeout=60):
    """Stock volume notifications, one at a time, until each agent has
    published one: each then takes its share of what follows."""
    notifier = volume_notifier(url)
    sent = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent.add(send_volume_exists(notifier))
        time.sleep(0.5)
        if all(
            sent & {s['resource_id'] for s in agent.samples()}
            for agent in agents
        ):
            return
    raise TimeoutError('not every notification agent consumes')
