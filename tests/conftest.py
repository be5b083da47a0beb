import pytest

from testcloud.rabbitmq import RabbitMQ
from tests.support.config import cinder_conf


@pytest.fixture
def conf():
    conf = cinder_conf()
    yield conf
    conf.reset()


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    """A RabbitMQ of the test session's own, on free loopback ports."""
    broker = RabbitMQ(str(tmp_path_factory.mktemp('rabbitmq')))
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The modules on the shared cloud (the ``openstack`` fixture) run
    last and together: the cloud is up only while they run, not beside
    every other module. Stable, after pytest's own grouping by fixture
    parameters."""
    items.sort(key=lambda item: 'openstack' in item.fixturenames)


def pytest_collection_finish(session):
    """Only tests/cinder_harness may run in an eventlet-patched process."""
    import eventlet.patcher

    harness = [i for i in session.items if 'cinder_harness' in i.nodeid]
    if harness and len(harness) != len(session.items):
        raise pytest.UsageError(
            'tests/cinder_harness patches the process with eventlet: run it '
            'in a pytest process of its own (tools/test.sh does)'
        )
    if not harness and eventlet.patcher.is_monkey_patched('thread'):
        raise pytest.UsageError('the test process is eventlet-patched')


@pytest.fixture(scope='session')
def ceph(tmp_path_factory):
    """A single-node Ceph of the test session's own (testcloud.ceph)."""
    from testcloud.ceph import Ceph

    with Ceph(str(tmp_path_factory.mktemp('ceph'))) as cluster:
        yield cluster


@pytest.fixture(scope='session')
def openstack(tmp_path_factory, request):
    """One real cloud (testcloud.cloud.shared_cloud) for every module
    that asks for it, started once: a backup host for POSIX files and for
    each store the session's modules name with ``pytest.mark.backup_stores``,
    on the session's Ceph if one of them is ``ceph``. Each module works in
    it as a tenant of its own (``Cloud.as_tenant``)."""
    from testcloud.cloud import shared_cloud

    stores = {
        store
        for item in request.session.items
        for mark in item.iter_markers('backup_stores')
        for store in mark.args
    }
    ceph = request.getfixturevalue('ceph') if 'ceph' in stores else None
    root = tmp_path_factory.mktemp('openstack')
    with shared_cloud(root, stores, ceph=ceph) as cloud:
        yield cloud


@pytest.fixture(scope='session')
def openstack_aodh(openstack, tmp_path_factory):
    """Aodh on the shared cloud, started once: its listener takes the
    agent's backup events, its evaluator reads the cloud's Gnocchi."""
    from testcloud.aodh import Aodh

    aodh = Aodh(
        str(tmp_path_factory.mktemp('aodh')),
        openstack.rabbitmq.url,
        gnocchi=openstack.telemetry.gnocchi.credentials(),
    )
    try:
        aodh.start()
        yield aodh
    finally:
        aodh.stop()
