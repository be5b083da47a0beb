"""Three controllers as hosts of their own: Linux network namespaces on
the shared cloud's network (testcloud.hosts), each running a central
``ceilometer-polling`` whose ``[coordination] backend_url`` is a real
Redis, as kolla-ansible deploys them, polling the real Keystone, cinder-api
and Gnocchi, which listen on the network's own address as on a
management network. The backups are rows in Cinder's database. What each
agent sampled is read from a topic of its own on the bus.
"""

import collections
import contextlib
import datetime
import time

import pytest

from testcloud.ceilometer_services import PollingAgent
from testcloud.ground import service_credentials
from testcloud.redis import Redis
from tests.support.recorders import listening

BACKUPS = 1200
CONTROLLERS = ('controller-1', 'controller-2', 'controller-3')
# Seconds before Redis forgets an agent that stopped heartbeating (tooz's
# Redis driver waits 30 by default).
MEMBERSHIP_TIMEOUT = 5
# Statuses the pollsters sample no backup in.
UNSAMPLED = ('deleted', 'error_deleting')


@pytest.fixture(scope='module')
def cloud(openstack):
    """The cloud with BACKUPS more, its own central agent stopped
    meanwhile: it would meter them all into Gnocchi every cycle."""
    with openstack.as_tenant('controllers') as cloud:
        project = cloud.stack.keystone.project_ids['controllers']
        cloud.telemetry.poller.stop()
        cloud.stack.cinder.put_backups(project, BACKUPS)
        try:
            yield cloud
        finally:
            cloud.stack.cinder.remove_put_backups(project)
            cloud.telemetry.poller.start()


def _listed(admin):
    """Ids of every backup of every project that a pollster samples, as
    the admin pages through Cinder's API."""
    ids, marker = set(), None
    while True:
        page = admin.backups.list(
            search_opts={'all_tenants': True}, marker=marker, limit=1000
        )
        if not page:
            return ids
        ids |= {b.id for b in page if b.status not in UNSAMPLED}
        marker = page[-1].id


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


def _split(buses, agents, wanted, since='', timeout=240):
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
    cloud, tmp_path, request
):
    """Each whole cycle every backup is sampled by exactly one agent; a
    controller killed whole (every process SIGKILLed, its link down)
    leaves its share to the other two once Redis forgets its agent; back,
    it takes a share again."""
    stack = cloud.stack
    network = stack.network
    hosts = {}
    for name in CONTROLLERS:
        hosts[name] = network.add(name)
        request.addfinalizer(lambda name=name: network.remove(name))
    wanted = _listed(cloud.admin)
    assert len(wanted) >= BACKUPS
    transport_url = stack.cinder.hosts.transport_url
    credentials = (
        service_credentials(**stack.credentials('ceilometer'))
        + cloud.telemetry.gnocchi_reader()
    )
    with contextlib.ExitStack() as started:
        redis = started.enter_context(
            Redis(str(tmp_path / 'redis'), address=network.address)
        )
        url = redis.coordination_url(membership_timeout=MEMBERSHIP_TIMEOUT)
        agents = {
            name: PollingAgent(
                str(tmp_path / name),
                transport_url,
                credentials,
                host=name,
                extra=f'[coordination]\nbackend_url = {url}\n'
                f'[oslo_messaging_notifications]\ntopics = {name}\n',
                on=hosts[name],
            )
            for name in CONTROLLERS
        }
        buses = {
            name: started.enter_context(
                listening(transport_url, name, 'ceilometer')
            )
            for name in CONTROLLERS
        }
        for agent in agents.values():
            started.callback(agent.stop)
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
