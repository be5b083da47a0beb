"""Real ceilometer-polling processes with this plugin, polling a loopback
Keystone + Cinder through python-cinderclient and keystoneauth1."""

import collections
import contextlib
import datetime
import os
import signal
import time

import pytest

from testcloud.ceilometer_services import NotificationAgent, PollingAgent
from testcloud.redis import Redis
from tests.support import config
from tests.support.openstack_api import FakeOpenStack, make_backups
from tests.support.recorders import listening

# Seconds before Redis forgets an agent that stopped heartbeating (tooz's
# Redis driver waits 30 by default).
MEMBERSHIP_TIMEOUT = 5


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


def _cycles(received, since=''):
    """Backup ids of each whole polling cycle (its samples share its
    timestamp) begun after ``since`` (ISO 8601, UTC): the newest may still
    be arriving, and is left out."""
    cycles = collections.defaultdict(set)
    for message in list(received.messages):
        for sample in message['payload']['samples']:
            if sample['counter_name'] == 'backup':
                cycles[sample['timestamp']].add(sample['resource_id'])
    return [cycles[t] for t in sorted(cycles) if t > since][:-1]


def _split(buses, agents, wanted, since='', timeout=120):
    """The backup ids each agent's latest whole cycle begun after
    ``since`` sampled, once those of ``agents`` (name -> PollingAgent)
    split ``wanted`` exactly: every backup by one agent, none by two."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for agent in agents.values():
            agent.check_alive()
        latest = {}
        for name in agents:
            cycles = _cycles(buses[name], since)
            if cycles:
                latest[name] = cycles[-1]
        if (
            len(latest) == len(agents)
            and set().union(*latest.values()) == wanted
            and sum(map(len, latest.values())) == len(wanted)
        ):
            return latest
        time.sleep(1)
    raise AssertionError(
        f'no cycle where {sorted(agents)} split the backups exactly'
    )


def _utcnow():
    return (
        datetime.datetime.now(datetime.timezone.utc)
        .replace(tzinfo=None)
        .isoformat()
    )


def test_three_agents_on_redis_split_the_backups_and_a_lost_ones_share(
    rabbitmq, api, tmp_path
):
    """As kolla-ansible deploys them: three central agents whose
    ``[coordination] backend_url`` is a real Redis. Each whole cycle every
    backup is sampled by exactly one agent; an agent killed whole leaves
    its share to the other two once Redis forgets it; started again, it
    takes a share again. What each agent sampled is read from a topic of
    its own on the bus."""
    wanted = {b['id'] for b in api.backups if b['status'] == 'available'}
    names = ('central-a', 'central-b', 'central-c')
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(Redis(str(tmp_path / 'redis')))
        url = redis.coordination_url(membership_timeout=MEMBERSHIP_TIMEOUT)
        agents = {
            name: PollingAgent(
                str(tmp_path / name),
                rabbitmq.url,
                config.credentials(api),
                host=name,
                extra=f'[coordination]\nbackend_url = {url}\n'
                f'[oslo_messaging_notifications]\ntopics = {name}\n',
            )
            for name in names
        }
        buses = {
            name: stack.enter_context(
                listening(rabbitmq.url, name, 'ceilometer')
            )
            for name in names
        }
        for agent in agents.values():
            stack.callback(agent.stop)
            agent.start()
        shares = _split(buses, agents, wanted)
        # Each does a real share of the work.
        assert all(len(share) > len(wanted) / 6 for share in shares.values())

        lost = agents.pop('central-c')
        os.killpg(lost.process.pid, signal.SIGKILL)
        lost.process.wait(10)
        killed, since = time.monotonic(), _utcnow()
        _split(buses, agents, wanted, since)
        took = time.monotonic() - killed
        print(
            f'the two others polled every backup {took:.0f} s after the '
            f'third was killed (membership_timeout {MEMBERSHIP_TIMEOUT} s, '
            'polling every 3 s)'
        )

        agents['central-c'] = lost
        lost.start()
        shares = _split(buses, agents, wanted, _utcnow())
        assert shares['central-c'], 'back, it takes a share'
    for agent in agents.values():
        assert 'Traceback' not in agent.log_text(), agent.log
