import time

import pytest
from oslo_messaging.notify import _impl_test

from ceilometer_backup.emitter import BackupNotifier


class Recorded:
    """What oslo.messaging's in-memory ``test`` driver received."""

    def clear(self):
        _impl_test.reset()

    @property
    def messages(self):
        return [message for _, message, _, _ in _impl_test.NOTIFICATIONS]

    def event_types(self):
        return [m['event_type'] for m in self.messages]

    def of(self, event_type):
        return [m for m in self.messages if m['event_type'] == event_type]

    def wait_for(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.messages


@pytest.fixture
def recorded():
    rec = Recorded()
    rec.clear()
    yield rec
    rec.clear()


@pytest.fixture
def notifier(conf, recorded):
    return BackupNotifier.from_config(conf, host='backup-host@posix')
