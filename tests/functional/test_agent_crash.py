"""ceilometer-agent-notification killed with work in flight loses nothing.

The agent acknowledges a batch only after its endpoint returns, so what a
SIGKILL interrupts is redelivered to the restarted agent: at-least-once.
"""

import os
import signal

import oslo_messaging

from ceilometer_backup.emitter.payload import build_payload
from testcloud.ceilometer_services import NotificationAgent
from tests.support import cinder_objects
from tests.support.config import cinder_conf

COUNT = 1000


def test_sigkill_with_1000_notifications_queued_loses_none(rabbitmq, tmp_path):
    agent = NotificationAgent(str(tmp_path), rabbitmq.url)
    agent.start()
    conf = cinder_conf(url=rabbitmq.url, driver='messagingv2')
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(transport, publisher_id='backup.node-1')
    backups = [cinder_objects.backup(size=1 + n % 9) for n in range(COUNT)]
    for backup in backups:
        notifier.info({}, 'backup.create.end', build_payload(backup))
    transport.cleanup()
    # Kill it as soon as it has published some, with the rest queued or
    # in flight.
    agent.wait_for_samples(lambda samples: len(samples) > 0, timeout=60)
    os.killpg(agent.process.pid, signal.SIGKILL)
    agent.process.wait(10)
    done_before = {s['resource_id'] for s in agent.samples()}
    assert len(done_before) < COUNT, 'the kill came too late to prove much'
    agent.start()
    try:
        wanted = {b.id for b in backups}
        samples = agent.wait_for_meters(wanted, ['backup.size'], 120)
    finally:
        agent.stop()
    sizes = {
        s['resource_id']: s['volume']
        for s in samples
        if s['name'] == 'backup.size'
    }
    assert sizes == {b.id: b.size for b in backups}
