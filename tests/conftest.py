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
