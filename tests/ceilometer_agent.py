"""Ceilometer's real notification pipeline, in-process, for the tests.

Endpoints are loaded through the ``ceilometer.sample.endpoint`` entry
points as ``ceilometer-agent-notification`` loads them, and publish
through the real sample pipeline to Ceilometer's ``test://`` publisher.
"""

import datetime
import logging
import os
import uuid

import ceilometer
from ceilometer import service
from ceilometer.pipeline import sample as sample_pipeline
from stevedore import named

from ceilometer_backup import contract as c

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE = os.path.join(HERE, 'fixtures', 'ceilometer', 'pipeline.yaml')
OVERRIDE_METERS_DIR = os.path.join(
    os.path.dirname(HERE), 'etc', 'ceilometer', 'meters.d'
)
# Where the installed Ceilometer keeps its packaged meters.yaml.
STOCK_METERS_DIR = os.path.join(
    os.path.dirname(ceilometer.__file__), 'data', 'meters.d'
)


def prepare_service(config_files):
    """Ceilometer's prepare_service, keeping the test run's log handlers.

    oslo.log's setup removes every handler of the root logger, pytest's
    log capture among them.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    conf = service.prepare_service([], config_files)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    return conf


def make_conf(meter_dirs=None):
    conf = prepare_service([])
    conf.set_override('pipeline_cfg_file', PIPELINE)
    if meter_dirs is not None:
        conf.set_override('meter_definitions_dirs', meter_dirs, group='meter')
    return conf


class Agent:
    """The sample endpoints of a notification agent and what they publish."""

    def __init__(self, conf, names=('backup',)):
        self.manager = sample_pipeline.SamplePipelineManager(conf)
        # As SamplePipelineManager.get_main_endpoints, restricted to names.
        self.endpoints = [
            extension.obj
            for extension in named.NamedExtensionManager(
                namespace='ceilometer.sample.endpoint',
                names=names,
                invoke_on_load=True,
                invoke_args=(conf, self.manager.publisher()),
                name_order=True,
            )
        ]
        assert len(self.endpoints) == len(names), 'entry point not found'
        self.published = self.manager.pipelines[0].sink.publishers[0].samples

    def receive(self, *notifications, priority='info'):
        """Dispatch a batch as oslo.messaging does, honouring each filter."""
        for endpoint in self.endpoints:
            rule = getattr(endpoint, 'filter_rule', None)
            batch = [
                n
                for n in notifications
                if rule is None
                or rule.match(
                    n['ctxt'],
                    n['publisher_id'],
                    n['event_type'],
                    n['metadata'],
                    n['payload'],
                )
            ]
            if batch:
                getattr(endpoint, priority)(batch)
        samples = list(self.published)
        self.published.clear()
        return samples


def notification(event_type, payload, host='backup-host@posix'):
    """A notification as oslo.messaging's batch dispatcher hands it over."""
    return {
        'ctxt': {},
        'publisher_id': f'{c.PUBLISHER_SERVICE}.{host}',
        'event_type': event_type,
        'payload': payload,
        'metadata': {
            'message_id': str(uuid.uuid4()),
            'timestamp': str(datetime.datetime(2026, 11, 25, 1, 2, 3, 456789)),
        },
    }
