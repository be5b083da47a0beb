"""A real oslo.messaging notification listener on Cinder's exchange."""

import contextlib
import threading
import time

import oslo_messaging

from ceilometer_backup import contract as c
from tests.config import make_conf


class Collector:
    """Notification endpoint keeping what it receives, with its priority."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    def _keep(self, priority, publisher_id, event_type, payload, metadata):
        with self._lock:
            self.messages.append(
                {
                    'priority': priority,
                    'publisher_id': publisher_id,
                    'event_type': event_type,
                    'payload': payload,
                }
            )

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._keep('INFO', publisher_id, event_type, payload, metadata)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._keep('ERROR', publisher_id, event_type, payload, metadata)

    def sample(self, ctxt, publisher_id, event_type, payload, metadata):
        # How ceilometer-polling hands its samples to the bus.
        self._keep('SAMPLE', publisher_id, event_type, payload, metadata)

    def event_types(self):
        return [m['event_type'] for m in self.messages]

    def wait_for(self, event_type, timeout=30):
        self.wait_for_count(event_type, 1, timeout)

    def wait_for_count(self, event_type, count, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.event_types().count(event_type) >= count:
                return
            time.sleep(0.05)
        raise TimeoutError(f'{event_type} not received: {self.event_types()}')


@contextlib.contextmanager
def listening(url, topic='notifications', exchange=c.CONTROL_EXCHANGE):
    conf = make_conf(url=url, driver='messagingv2')
    transport = oslo_messaging.get_notification_transport(conf)
    collector = Collector()
    listener = oslo_messaging.get_notification_listener(
        transport,
        [oslo_messaging.Target(topic=topic, exchange=exchange)],
        [collector],
        executor='threading',
    )
    # One thread, so messages are kept in the order they arrived.
    conf.set_override('executor_thread_pool_size', 1)
    listener.start()
    try:
        yield collector
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
