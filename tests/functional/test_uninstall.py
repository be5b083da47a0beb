"""The Ceilometer side of the uninstall page, on a Ceilometer without this
package (``.venv-stock``, as after ``pip uninstall``).

The agent runs on the files as steps 2 and 3 of doc/source/uninstall.md
leave them, and on the pipeline of before step 2, with a file publisher
beside Gnocchi's to see what it publishes.
"""

import pytest

from testcloud.ceilometer_services import (
    OVERRIDE_METERS_DIR,
    STOCK_METERS_DIR,
    NotificationAgent,
    stock_ceilometer,
)
from tests.support.messages import send_volume_exists, volume_notifier

OPTIONS = '?enable_filter_project=false&archive_policy=ceilometer-low'
# Gnocchi's basic auth: the publishers are made offline; nothing listens.
CREDENTIALS = (
    '[service_credentials]\nauth_type = gnocchi-basic\nuser = admin\n'
    'endpoint = http://127.0.0.1:9\n'
)
UNLOADABLE = 'Unable to load publisher'


@pytest.fixture(scope='module')
def bindir():
    return stock_ceilometer()


def _agent(tmp_path, rabbitmq, bindir, publisher, meters_dir):
    return NotificationAgent(
        str(tmp_path),
        rabbitmq.url,
        publishers=[publisher + OPTIONS],
        meters_dir=meters_dir,
        extra=CREDENTIALS,
        bindir=bindir,
    )


def _publishes_a_stock_meter(agent, rabbitmq):
    volume_id = send_volume_exists(volume_notifier(rabbitmq.url))
    agent.wait_for_samples(
        lambda samples: any(
            s['name'] == 'volume.size' and s['resource_id'] == volume_id
            for s in samples
        ),
        timeout=60,
    )


def test_after_the_steps_the_pipeline_loads_whole(tmp_path, rabbitmq, bindir):
    agent = _agent(tmp_path, rabbitmq, bindir, 'gnocchi://', STOCK_METERS_DIR)
    agent.start()
    try:
        _publishes_a_stock_meter(agent, rabbitmq)
    finally:
        agent.stop()
    assert UNLOADABLE not in agent.log_text()


def test_uninstalled_first_the_backup_sink_loses_its_publisher(
    tmp_path, rabbitmq, bindir
):
    """Why the order: the package gone, a pipeline still naming it."""
    agent = _agent(
        tmp_path,
        rabbitmq,
        bindir,
        'backup-gnocchi://',
        OVERRIDE_METERS_DIR,
    )
    agent.start()
    try:
        _publishes_a_stock_meter(agent, rabbitmq)
    finally:
        agent.stop()
    assert f'{UNLOADABLE} backup-gnocchi://' in agent.log_text()
