"""Aodh event alarms on failed backups, with the real pieces.

This project's emitter sends ``backup.create.error`` over RabbitMQ; a real
ceilometer-agent-notification, with the event definitions
``ceilometer-backup upgrade`` writes and an event pipeline publishing to
``notifier://?topic=alarm.all``, turns it into an event; a real
aodh-listener evaluates the project's event alarm and aodh-notifier calls
its actions (``log://`` and a loopback webhook).
"""

import time

import pytest
import yaml

from ceilometer_backup import contract as c
from ceilometer_backup.cmd import gnocchi
from ceilometer_backup.emitter.notification import BackupNotifier
from testcloud.aodh import Aodh, Webhook
from testcloud.ceilometer_services import NotificationAgent
from testcloud.ground import EVENT_PIPELINE
from tests.support import cinder_objects, tenant_input
from tests.support.config import cinder_conf


@pytest.fixture(scope='module')
def chain(rabbitmq, tmp_path_factory):
    root = tmp_path_factory.mktemp('aodh')
    pipeline = root / 'event_pipeline.yaml'
    pipeline.write_text(EVENT_PIPELINE)
    with open(gnocchi.STOCK_FILES['event_definitions.yaml']) as f:
        stock = yaml.safe_load(f)
    definitions = root / 'event_definitions.yaml'
    definitions.write_text(yaml.safe_dump(gnocchi.event_definitions(stock)))
    aodh = Aodh(str(root / 'aodh'), rabbitmq.url)
    agent = NotificationAgent(
        str(root / 'notification'),
        rabbitmq.url,
        pipelines=('event',),
        defaults=f'event_pipeline_cfg_file = {pipeline}',
        extra=f'[event]\ndefinitions_cfg_file = {definitions}\n',
        record=False,
    )
    try:
        with Webhook() as hook:
            aodh.start()
            agent.start()
            yield aodh, hook, rabbitmq
    finally:
        agent.stop()
        aodh.stop()


def test_a_failed_backup_fires_its_projects_event_alarm_once(chain):
    aodh, hook, rabbitmq = chain
    alarm = aodh.create_event_alarm(
        'project-1', 'backup.create.error', ['log://', hook.url]
    )
    notifier = BackupNotifier.from_config(
        cinder_conf(url=rabbitmq.url, driver='messagingv2'),
        host='node1@posix',
    )
    # Another project's failure, this project's success, then two failures
    # of this project: one notification, for the first of them.
    failed = []
    for project, fails in (
        ('project-2', True),
        ('project-1', False),
        ('project-1', True),
        ('project-1', True),
    ):
        backup = cinder_objects.backup(
            size=1, project_id=project, display_name=tenant_input.NAME
        )
        try:
            with notifier.operation(None, backup, c.CREATE):
                if fails:
                    raise OSError('repository full')
                backup.status = 'available'
        except OSError:
            failed.append(backup)
    notifier.flush()
    (fired,) = hook.wait(1)
    time.sleep(5)  # would a second one come?
    assert len(hook.received) == 1, hook.received
    assert fired['alarm_id'] == alarm['alarm_id']
    assert fired['current'] == 'alarm'
    event = fired['reason_data']['event']
    assert event['event_type'] == 'backup.create.error'
    traits = {name: value for name, _, value in event['traits']}
    first = failed[1]  # project-1's first failure
    assert traits['backup_id'] == first.id
    assert traits['volume_id'] == first.volume_id
    assert traits['fail_reason'] == 'repository full'
    assert traits['project_id'] == 'project-1'
    assert traits['display_name'] == tenant_input.NAME
    assert aodh.alarm(alarm['alarm_id'])['state'] == 'alarm'
    assert 'Notifying alarm' in aodh.log_text('aodh-notifier')
