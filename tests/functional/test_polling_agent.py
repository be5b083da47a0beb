"""Real ceilometer-polling processes with this plugin, polling a loopback
Keystone + Cinder through python-cinderclient and keystoneauth1."""

import pytest

from testcloud.ceilometer_services import NotificationAgent, PollingAgent
from tests.support import config
from tests.support.openstack_api import FakeOpenStack, make_backups


@pytest.fixture
def api():
    with FakeOpenStack(make_backups(2500, deleted=10)) as api:
        yield api


def test_polling_agent_samples_every_backup(rabbitmq, api, tmp_path):
    notification = NotificationAgent(
        str(tmp_path / 'notification'), rabbitmq.url
    )
    poller = PollingAgent(
        str(tmp_path / 'polling'),
        rabbitmq.url,
        config.credentials(api),
        host='central-1',
    )
    notification.start()
    poller.start()
    wanted = {
        b['id']: b['size'] for b in api.backups if b['status'] == 'available'
    }
    try:
        samples = notification.wait_for_meters(
            wanted, ['backup', 'backup.size']
        )
    finally:
        poller.stop()
        notification.stop()
    # Of the backups this API lists: the session's broker may still hold
    # samples an earlier module's agents left on the bus.
    listed = {b['id'] for b in api.backups}
    sizes = {
        s['resource_id']: s['volume']
        for s in samples
        if s['name'] == 'backup.size' and s['resource_id'] in listed
    }
    assert sizes == wanted, 'deleted backups are not sampled'
    sample = next(
        s
        for s in samples
        if s['name'] == 'backup.size' and s['resource_id'] in wanted
    )
    assert sample['unit'] == 'GiB'
    assert sample['project_id'] and sample['user_id']
    assert sample['resource_metadata']['status'] == 'available'
    # One listing per cycle serves both pollsters: 3 pages per cycle.
    pages = api.backup_pages()
    assert len(pages) % 3 == 0
    assert 'Traceback' not in poller.log_text()
