"""A broker that goes away in the middle of a backup, and comes back."""

import time

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from testcloud.ground import MIB
from testcloud.rabbitmq import RabbitMQ
from tests.support import cinder_objects
from tests.support.config import cinder_conf
from tests.support.recorders import listening


@pytest.fixture
def own_broker(tmp_path):
    """A broker this test may stop: the session's one is shared."""
    broker = RabbitMQ(str(tmp_path))
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


def test_end_and_later_progress_arrive_after_a_broker_restart(own_broker):
    conf = cinder_conf(
        url=own_broker.url,
        driver='messagingv2',
        progress_every_objects=1,
    )
    notifier = BackupNotifier.from_config(conf, host='node-1')
    backup = cinder_objects.backup(size=1)
    with listening(own_broker.url) as before:
        op = notifier.operation(None, backup, c.CREATE)
        op.start()
        for _ in range(4):  # 25 % .. 100 % of the first quarter
            op.advance(64 * MIB)
        before.wait_for_count('backup.createprogress', 4)
    own_broker.stop_broker()
    for _ in range(4):  # queued while the broker is down
        op.advance(64 * MIB)
    own_broker.start()
    # The sender may publish again before a new queue of the listener's
    # is bound: read the one it creates itself (this broker's alone).
    with listening(own_broker.url, shared=True) as after:
        # The sender is backing off: give it time to try again.
        time.sleep(2)
        for _ in range(8):
            op.advance(64 * MIB)
            time.sleep(0.2)
        op.end()
        after.wait_for('backup.create.end', timeout=60)
    progress = [
        m['payload']['backup_percent']
        for m in after.messages
        if m['event_type'] == 'backup.createprogress'
    ]
    # The connection existed, so oslo.messaging retries until the broker
    # is back: what was queued during the outage arrives, in order, then
    # the rest and .end. (A broker down at connect time is the dead-broker
    # test's case: there progress is given up.)
    assert progress == [6.25 * n for n in range(5, 17)]
    assert after.event_types()[-1] == 'backup.create.end'
