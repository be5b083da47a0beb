"""A real ceilometer-agent-notification, fed over RabbitMQ by the emitter."""

import collections

import oslo_messaging
import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from testcloud.ceilometer_services import NotificationAgent
from testcloud.ground import MIB
from tests.support import cinder_objects
from tests.support.config import cinder_conf


@pytest.fixture
def agent(rabbitmq, tmp_path):
    agent = NotificationAgent(str(tmp_path), rabbitmq.url)
    agent.start()
    yield agent
    agent.stop()


def _send_malformed(url):
    """What a broken or foreign publisher might put on Cinder's exchange."""
    conf = cinder_conf(url=url, driver='messagingv2')
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(transport, publisher_id='backup.x')
    notifier.info({}, 'backup.create.end', {'size': 'huge'})
    notifier.info({}, 'backup.createprogress', 'not a payload')
    transport.cleanup()


def test_agent_turns_backup_notifications_into_samples(rabbitmq, agent):
    conf = cinder_conf(url=rabbitmq.url, driver='messagingv2')
    notifier = BackupNotifier.from_config(conf, host='node1@posix')
    backup = cinder_objects.backup(size=1)
    failing = cinder_objects.backup(size=2)
    with notifier.operation(None, backup, c.CREATE) as op:
        for _ in range(16):
            op.advance(64 * MIB)
        backup.status = 'available'
    _send_malformed(rabbitmq.url)
    with notifier.operation(None, backup, c.DELETE):
        backup.status = 'deleted'
    with pytest.raises(OSError):
        with notifier.operation(None, failing, c.CREATE):
            raise OSError('repository full')

    samples = agent.wait_for_samples(
        lambda samples: (
            any(s['name'] == 'backup.error' for s in samples)
            and any(
                s['resource_metadata'].get('event_type') == 'backup.delete.end'
                for s in samples
            )
        )
    )
    counts = collections.Counter(
        (s['resource_id'], s['name']) for s in samples
    )
    # create.start, create.end, delete.start, delete.end: one size sample
    # each, although the stock meter endpoint runs in the same agent.
    assert counts[(backup.id, 'backup.size')] == 4
    assert counts[(backup.id, 'backup')] == 4
    assert counts[(backup.id, 'backup.progress')] == 2
    assert counts[(backup.id, 'backup.create.duration')] == 1
    assert counts[(backup.id, 'backup.delete.duration')] == 1
    assert counts[(failing.id, 'backup.error')] == 1
    assert counts[(failing.id, 'backup.size')] == 1  # its create.start
    progress = [
        s
        for s in samples
        if s['name'] == 'backup.progress' and s['resource_id'] == backup.id
    ]
    assert [s['volume'] for s in progress] == [62.5, 100.0]
    size = next(
        s
        for s in samples
        if s['name'] == 'backup.size' and s['resource_id'] == backup.id
    )
    assert size['unit'] == 'GiB'
    assert size['project_id'] == 'project-1'
    assert size['user_id'] == 'user-1'
    log = agent.log_text()
    assert 'Traceback' not in log
    assert log.count('Rejected') == 2
