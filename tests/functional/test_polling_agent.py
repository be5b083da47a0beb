"""Real ceilometer-polling processes with this plugin, polling a loopback
Keystone + Cinder through python-cinderclient and keystoneauth1."""

import collections
import time

import pytest

from testcloud.ceilometer_services import NotificationAgent, PollingAgent
from tests.support import config
from tests.support.openstack_api import FakeOpenStack, make_backups
from tests.support.recorders import listening


@pytest.fixture
def api():
    with FakeOpenStack(make_backups(2500, deleted=10)) as api:
        yield api


def test_polling_agent_samples_every_backup(rabbitmq, api, tmp_path):
    notification = NotificationAgent(
        str(tmp_path / 'notification'), rabbitmq.url
    )
    poller = PollingAgent(
        str(tmp_path / 'polling'),
        rabbitmq.url,
        config.credentials(api),
        host='central-1',
    )
    notification.start()
    poller.start()
    wanted = {
        b['id']: b['size'] for b in api.backups if b['status'] == 'available'
    }
    try:
        samples = notification.wait_for_meters(
            wanted, ['backup', 'backup.size']
        )
    finally:
        poller.stop()
        notification.stop()
    # Of the backups this API lists: the session's broker may still hold
    # samples an earlier module's agents left on the bus.
    listed = {b['id'] for b in api.backups}
    sizes = {
        s['resource_id']: s['volume']
        for s in samples
        if s['name'] == 'backup.size' and s['resource_id'] in listed
    }
    assert sizes == wanted, 'deleted backups are not sampled'
    sample = next(
        s
        for s in samples
        if s['name'] == 'backup.size' and s['resource_id'] in wanted
    )
    assert sample['unit'] == 'GiB'
    assert sample['project_id'] and sample['user_id']
    assert sample['resource_metadata']['status'] == 'available'
    # One listing per cycle serves both pollsters: 3 pages per cycle.
    pages = api.backup_pages()
    assert len(pages) % 3 == 0
    assert 'Traceback' not in poller.log_text()


def _cycles(received):
    """Backup ids of each polling cycle (samples share its timestamp)."""
    cycles = collections.defaultdict(set)
    for message in list(received.messages):
        for sample in message['payload']['samples']:
            if sample['counter_name'] == 'backup':
                cycles[sample['timestamp']].add(sample['resource_id'])
    return [cycles[t] for t in sorted(cycles)][-4:]


def test_two_coordinated_agents_split_the_backups_exactly(
    rabbitmq, api, tmp_path
):
    coordination = tmp_path / 'coordination'
    coordination.mkdir()
    wanted = {b['id'] for b in api.backups if b['status'] == 'available'}
    agents = [
        PollingAgent(
            str(tmp_path / name),
            rabbitmq.url,
            config.credentials(api),
            host=name,
            extra=f'[coordination]\nbackend_url = file://{coordination}\n'
            f'[oslo_messaging_notifications]\ntopics = {name}\n',
        )
        for name in ('central-a', 'central-b')
    ]
    with (
        listening(rabbitmq.url, 'central-a', 'ceilometer') as a,
        listening(rabbitmq.url, 'central-b', 'ceilometer') as b,
    ):
        for agent in agents:
            agent.start()
        try:
            deadline = time.monotonic() + 120
            split = None
            while split is None and time.monotonic() < deadline:
                for agent in agents:
                    agent.check_alive()
                split = next(
                    (
                        (x, y)
                        for x in _cycles(a)
                        for y in _cycles(b)
                        if x | y == wanted and not x & y
                    ),
                    None,
                )
                time.sleep(1)
        finally:
            for agent in agents:
                agent.stop()
    assert split is not None, 'no cycle where the agents split all backups'
    x, y = split
    # Both did a real share of the work.
    assert len(x) > 500 and len(y) > 500
