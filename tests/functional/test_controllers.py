"""Three controllers as hosts of their own: Linux network namespaces on a
bridge the test owns (testcloud.hosts), each running a central
``ceilometer-polling`` whose ``[coordination] backend_url`` is a real
Redis, as kolla-ansible deploys them. RabbitMQ, Redis and the loopback
OpenStack listen on the bridge's own address, as on a management network.
What each agent sampled is read from a topic of its own on the bus.
"""

import collections
import contextlib
import datetime
import time

import pytest

from testcloud.ceilometer_services import PollingAgent
from testcloud.hosts import Network
from testcloud.rabbitmq import RabbitMQ
from testcloud.redis import Redis
from tests.support import config
from tests.support.openstack_api import FakeOpenStack, make_backups
from tests.support.recorders import listening

BACKUPS = 1200
CONTROLLERS = ('controller-1', 'controller-2', 'controller-3')
# Seconds before Redis forgets an agent that stopped heartbeating (tooz's
# Redis driver waits 30 by default).
MEMBERSHIP_TIMEOUT = 5


@pytest.fixture(scope='module')
def network():
    with Network() as network:
        yield network


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


def test_a_controller_killed_whole_leaves_its_share_to_the_other_two(
    network, tmp_path
):
    """Each whole cycle every backup is sampled by exactly one agent; a
    controller killed whole (every process SIGKILLed, its link down)
    leaves its share to the other two once Redis forgets its agent; back,
    it takes a share again."""
    hosts = {name: network.add(name) for name in CONTROLLERS}
    (tmp_path / 'rabbitmq').mkdir()
    with contextlib.ExitStack() as stack:
        address = network.address
        broker = stack.enter_context(
            RabbitMQ(str(tmp_path / 'rabbitmq'), address=address)
        )
        redis = stack.enter_context(
            Redis(str(tmp_path / 'redis'), address=address)
        )
        api = stack.enter_context(
            FakeOpenStack(make_backups(BACKUPS), address=address)
        )
        wanted = {b['id'] for b in api.backups}
        transport_url = broker.add_hosts_user()
        url = redis.coordination_url(membership_timeout=MEMBERSHIP_TIMEOUT)
        agents = {
            name: PollingAgent(
                str(tmp_path / name),
                transport_url,
                config.credentials(api),
                host=name,
                extra=f'[coordination]\nbackend_url = {url}\n'
                f'[oslo_messaging_notifications]\ntopics = {name}\n',
                on=hosts[name],
            )
            for name in CONTROLLERS
        }
        buses = {
            name: stack.enter_context(
                listening(transport_url, name, 'ceilometer')
            )
            for name in CONTROLLERS
        }
        for agent in agents.values():
            stack.callback(agent.stop)
            agent.start()
        shares = _split(buses, agents, wanted)
        # Each does a real share of the work.
        assert all(len(share) > len(wanted) / 6 for share in shares.values())

        lost = hosts['controller-3']
        gone = agents.pop('controller-3')
        lost.kill()
        lost.cut()
        gone.process.wait(10)
        killed, since = time.monotonic(), _utcnow()
        _split(buses, agents, wanted, since)
        took = time.monotonic() - killed
        print(
            f'\nthe two others polled every backup {took:.0f} s after the '
            f'third controller was killed (membership_timeout '
            f'{MEMBERSHIP_TIMEOUT} s, polling every 3 s)'
        )

        lost.join()
        agents['controller-3'] = gone.start()
        shares = _split(buses, agents, wanted, _utcnow())
        assert shares['controller-3'], 'back, it takes a share'
    for agent in agents.values():
        assert 'Traceback' not in agent.log_text(), agent.log
        assert redis.password not in agent.log_text(), agent.log
