"""Ceilometer's notification agent in one process, for the demo and tests.

Endpoints are loaded through the ``ceilometer.sample.endpoint`` entry
points as ``ceilometer-agent-notification`` loads them, and publish
through Ceilometer's real sample pipeline; its first publisher must be
``test://`` (Ceilometer's in-memory one), where the samples are read back.
Notifications come from a real oslo.messaging batch listener on the
``cinder`` exchange (``listening``), or are handed over directly as the
listener would (``receive``).
"""

import contextlib
import json
import time

import oslo_messaging
from ceilometer.pipeline import sample as sample_pipeline
from stevedore import named

from ceilometer_backup import contract as c

PIPELINE = """---
sources:
  - name: backup_source
    meters: ["*"]
    sinks: [sink]
sinks:
  - name: sink
    publishers: {publishers}
"""


def pipeline_yaml(publishers):
    """A sample pipeline sending every meter to ``publishers``."""
    return PIPELINE.format(publishers=json.dumps(list(publishers)))


class InProcessAgent:
    """The sample endpoints ``names`` of a notification agent, and what they
    published (``published``, in order)."""

    def __init__(self, conf, names=('backup',)):
        self.conf = conf
        self.manager = manager = sample_pipeline.SamplePipelineManager(conf)
        # As SamplePipelineManager.get_main_endpoints, restricted to names.
        self.endpoints = [
            extension.obj
            for extension in named.NamedExtensionManager(
                namespace='ceilometer.sample.endpoint',
                names=names,
                invoke_on_load=True,
                invoke_args=(conf, manager.publisher()),
                name_order=True,
            )
        ]
        if len(self.endpoints) != len(names):
            raise LookupError(f'sample endpoints {names} are not installed')
        self.published = manager.pipelines[0].sink.publishers[0].samples

    def receive(self, *notifications, priority='info'):
        """Dispatch one batch as oslo.messaging does, honouring each
        endpoint's filter; the samples it published."""
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

    @contextlib.contextmanager
    def listening(self, url, batch_size=100, batch_timeout=0.1):
        """A batch notification listener feeding the endpoints, on the
        ``notifications`` topic of the ``cinder`` exchange at ``url``."""
        transport = oslo_messaging.get_notification_transport(
            self.conf, url=url
        )
        listener = oslo_messaging.get_batch_notification_listener(
            transport,
            [
                oslo_messaging.Target(
                    topic='notifications', exchange=c.CONTROL_EXCHANGE
                )
            ],
            self.endpoints,
            executor='threading',
            batch_size=batch_size,
            batch_timeout=batch_timeout,
        )
        # One batch at a time, so samples keep the order of notifications.
        self.conf.set_override('executor_thread_pool_size', 1)
        listener.start()
        try:
            yield self
        finally:
            listener.stop()
            listener.wait()
            transport.cleanup()

    def wait_quiet(self, quiet=0.5, limit=15.0):
        """Wait until no sample arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        seen = -1
        while seen != len(self.published) and time.monotonic() < deadline:
            seen = len(self.published)
            time.sleep(quiet)
