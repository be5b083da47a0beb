"""Aodh's alarm on stalled backups, with the real pieces.

The emitter's progress reports carry how long nothing has moved
(``idle_seconds``); a real ceilometer-agent-notification publishes
``backup.idle`` to a real Gnocchi (``backup-gnocchi://``), and a real
aodh-evaluator evaluates the alarm shipped in
``etc/aodh/backup-stalled-alarm.json`` on it, aodh-notifier calling a
loopback webhook. A module of its own: its agent must not share
RabbitMQ's notification queue with test_aodh's.
"""

import time

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from testcloud.aodh import Aodh, Webhook
from testcloud.ground import MIB
from testcloud.postgresql import PostgreSQL
from testcloud.telemetry import Telemetry
from tests.support import cinder_objects, config
from tests.support.config import cinder_conf
from tests.support.openstack_api import FakeOpenStack

IDLE_THRESHOLD = 4  # seconds, for the test; 900 as shipped


@pytest.fixture(scope='module')
def watched(rabbitmq, tmp_path_factory):
    """Gnocchi with Ceilometer's agents (the poller lists no backups), and
    Aodh evaluating on that Gnocchi."""
    root = tmp_path_factory.mktemp('aodh-gnocchi')
    database = PostgreSQL()
    try:
        database.start()
        with (
            FakeOpenStack([]) as api,
            Telemetry(
                root, rabbitmq, database, config.credentials(api)
            ) as telemetry,
            Webhook() as hook,
        ):
            aodh = Aodh(
                str(root / 'aodh'),
                rabbitmq.url,
                gnocchi=telemetry.gnocchi.credentials(),
            )
            try:
                aodh.start()
                yield aodh, hook, rabbitmq
            finally:
                aodh.stop()
    finally:
        database.stop()


def test_a_stalled_backup_fires_the_stalled_backup_alarm(watched):
    aodh, hook, rabbitmq = watched
    alarm_id = aodh.create_stalled_alarm(hook.url, IDLE_THRESHOLD)
    notifier = BackupNotifier.from_config(
        cinder_conf(
            url=rabbitmq.url,
            driver='messagingv2',
            progress_every_seconds=1,
            progress_every_objects=0,
        ),
        'node-1',
    )
    backup = cinder_objects.backup(size=1)
    with notifier.operation(None, backup, c.CREATE) as op:
        # Moving, a MiB every half second: no idle measure, nothing to
        # evaluate.
        moving_until = time.monotonic() + 2 * IDLE_THRESHOLD
        while time.monotonic() < moving_until:
            op.advance(MIB)
            time.sleep(0.5)
        assert aodh.alarm(alarm_id)['state'] == 'insufficient data'
        # Stalled: nothing moves, the timer keeps reporting.
        stalled_at = time.monotonic()
        (fired,) = hook.wait(1, timeout=90)
        stalled_for = time.monotonic() - stalled_at
        # Moving again: the next report says 0, and the alarm is ok.
        deadline = time.monotonic() + 60
        while aodh.alarm(alarm_id)['state'] != 'ok':
            assert time.monotonic() < deadline, 'never ok again'
            op.advance(MIB)
            time.sleep(0.5)
    assert fired['alarm_id'] == alarm_id
    assert fired['current'] == 'alarm'
    assert fired['reason_data']['most_recent'] >= IDLE_THRESHOLD
    assert stalled_for >= IDLE_THRESHOLD
    assert len(hook.received) == 1, 'alarm actions only'
