"""What was sent: oslo.messaging's in-memory driver, or a real listener.

``Recorded`` reads what oslo.messaging's ``test`` notification driver
received in this process; ``listening`` runs a real notification listener
on Cinder's exchange and keeps what arrives, in order.
"""

import contextlib
import threading
import time
import uuid

import kombu.exceptions
import oslo_messaging
from oslo_messaging.notify import _impl_test

from ceilometer_backup import contract as c
from tests.support.config import cinder_conf


class Recorded:
    """What oslo.messaging's in-memory ``test`` driver received."""

    def clear(self):
        _impl_test.reset()

    @property
    def messages(self):
        return [message for _, message, _, _ in _impl_test.NOTIFICATIONS]

    def event_types(self):
        return [m['event_type'] for m in self.messages]

    def of(self, event_type):
        return [m for m in self.messages if m['event_type'] == event_type]


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

    def payloads(self, event_type):
        return [
            m['payload']
            for m in self.messages
            if m['event_type'] == event_type
        ]

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
def listening(
    url,
    topic='notifications',
    exchange=c.CONTROL_EXCHANGE,
    pool=None,
    shared=False,
):
    """What reaches the exchange while it listens, on a queue of its own
    (``pool``, or a fresh name), deleted afterwards: nothing an earlier
    test left on the broker is read, an agent's queue beside it gets every
    message too, and the priorities the collector takes (info, error,
    sample) keep the order they were sent in.

    ``shared``: read the ``<topic>.<priority>`` queues a notifier creates
    itself when it sends instead, with whatever is on them (a broker of
    the test's own), so that nothing sent before the listener's own queue
    could be bound is missed.
    """
    if not shared:
        pool = pool or f'test-{uuid.uuid4().hex}'
    conf = cinder_conf(url=url, driver='messagingv2')
    transport = oslo_messaging.get_notification_transport(conf)
    collector = Collector()
    listener = oslo_messaging.get_notification_listener(
        transport,
        [oslo_messaging.Target(topic=topic, exchange=exchange)],
        [collector],
        executor='threading',
        pool=pool,
    )
    # One thread, so messages are kept in the order they arrived.
    conf.set_override('executor_thread_pool_size', 1)
    listener.start()
    try:
        yield collector
    finally:
        try:
            listener.stop()
            listener.wait()
            transport.cleanup()
        finally:
            if pool:
                _delete_queue(url, pool)


def _delete_queue(url, name):
    """oslo.messaging declares a pool's queue and never deletes it. At
    best: a broker stopped meanwhile has lost it anyway (its queues are
    not durable). Plain AMQP only, as ``listening`` connects."""
    connection = kombu.Connection(
        url.replace('rabbit://', 'amqp://', 1), connect_timeout=5
    )
    try:
        connection.ensure_connection(max_retries=1)
        connection.channel().queue_delete(name)
    except (OSError, kombu.exceptions.OperationalError):
        pass
    finally:
        connection.release()
