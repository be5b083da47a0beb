import pytest

from ceilometer_backup.emitter.notification import BackupNotifier
from tests.support.recorders import Recorded


@pytest.fixture
def recorded():
    rec = Recorded()
    rec.clear()
    yield rec
    rec.clear()


@pytest.fixture
def notifier(conf, recorded):
    return BackupNotifier.from_config(conf, host='backup-host@posix')
