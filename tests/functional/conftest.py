import pytest

from tests.fixtures.rabbitmq import RabbitMQ


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    broker = RabbitMQ(str(tmp_path_factory.mktemp('rabbitmq')))
    try:
        broker.start()
        yield broker
    finally:
        broker.close()
