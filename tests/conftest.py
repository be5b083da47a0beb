import pytest

from tests.config import make_conf


@pytest.fixture
def conf():
    conf = make_conf()
    yield conf
    conf.reset()
