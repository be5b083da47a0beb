import logging
import os
import threading
from importlib import metadata

import oslo_messaging
import pytest
from oslo_messaging.notify import _impl_test

from ceilometer_backup.emitter import delivery
from ceilometer_backup.emitter.delivery import BackgroundSender, Message
from tests.support.config import cinder_conf


class Owner:
    def __init__(self):
        self.dropped = []

    def message_dropped(self, message):
        self.dropped.append(message.event_type)


class GatedSend:
    """A send that blocks until opened, as a dead broker does."""

    def __init__(self):
        self.gate = threading.Event()
        self.sent = []

    def __call__(self, message):
        self.gate.wait()
        self.sent.append(message.event_type)


def _msg(name, droppable, owner=None):
    return Message({}, name, {'backup_id': 'b'}, droppable, owner)


def _blocked_sender(max_queued):
    send = GatedSend()
    sender = BackgroundSender(send, max_queued)
    # The first message is taken by the worker and blocks it.
    sender.submit(_msg('in-flight', False))
    assert not sender.flush(0.05)
    return send, sender


def test_full_queue_drops_progress_first_and_keeps_lifecycle():
    owner = Owner()
    send, sender = _blocked_sender(max_queued=3)
    assert sender.submit(_msg('p1', True, owner))
    assert sender.submit(_msg('start', False, owner))
    assert sender.submit(_msg('p2', True, owner))
    # Full: new progress is dropped.
    assert not sender.submit(_msg('p3', True, owner))
    # Full: a lifecycle message evicts the oldest progress message.
    assert sender.submit(_msg('end', False, owner))
    assert sender.submit(_msg('error', False, owner))
    # Full of lifecycle messages: the next lifecycle message is dropped.
    assert not sender.submit(_msg('end2', False, owner))
    assert owner.dropped == ['p3', 'p1', 'p2', 'end2']
    send.gate.set()
    assert sender.flush(5)
    assert send.sent == ['in-flight', 'start', 'end', 'error']


def test_flush_is_bounded_and_sending_goes_on_after_it():
    send, sender = _blocked_sender(max_queued=10)
    sender.submit(_msg('end', False))
    assert not sender.flush(0.05)
    assert len(sender) == 2
    send.gate.set()
    assert sender.flush(5)
    assert send.sent == ['in-flight', 'end']
    assert len(sender) == 0


def test_a_failing_send_is_logged_and_the_next_message_still_goes(caplog):
    sent = []

    def send(message):
        if message.event_type == 'bad':
            raise ConnectionError('broker said no')
        sent.append(message.event_type)

    sender = BackgroundSender(send, 10)
    sender.submit(_msg('bad', False))
    sender.submit(_msg('good', False))
    assert sender.flush(5)
    assert sent == ['good']
    warnings = [r for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1
    assert 'bad' in warnings[0].getMessage()
    assert 'backup b' in warnings[0].getMessage()


def test_worker_is_restarted_in_a_forked_child():
    sent = []
    sender = BackgroundSender(lambda m: sent.append(m.event_type), 10)
    sender.submit(_msg('parent', False))
    assert sender.flush(5)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        ok = sender.submit(_msg('child', False)) and sender.flush(5)
        os.write(write_end, b'1' if ok and sent[-1] == 'child' else b'0')
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read_end, 1) == b'1'


def test_undelivered_lifecycle_is_retried_and_progress_given_up(
    monkeypatch, caplog
):
    from ceilometer_backup.emitter import delivery as sender_module

    monkeypatch.setattr(sender_module, 'RETRY_START', 0.01)
    monkeypatch.setattr(sender_module, 'RETRY_MAX', 0.02)
    attempts = []
    sent = []

    def broker_down_twice(message):
        attempts.append(message.event_type)
        if len(attempts) <= 2:
            raise sender_module.DeliveryFailed(message.event_type)
        sent.append(message.event_type)

    owner = Owner()
    sender = BackgroundSender(broker_down_twice, 10)
    with caplog.at_level(logging.INFO):
        sender.submit(_msg('start', False, owner))
        sender.submit(_msg('progress', True, owner))
        sender.submit(_msg('end', False, owner))
        assert sender.flush(5)
    # start fails twice and is kept; progress is never tried while failing.
    assert attempts == ['start', 'start', 'start', 'progress', 'end']
    assert sent == ['start', 'progress', 'end']
    assert owner.dropped == []
    messages = [r.getMessage() for r in caplog.records]
    assert sum('not reaching' in m for m in messages) == 1
    assert sum('reach the broker again' in m for m in messages) == 1


def test_undelivered_progress_is_dropped(monkeypatch):
    from ceilometer_backup.emitter import delivery as sender_module

    monkeypatch.setattr(sender_module, 'RETRY_START', 0.01)

    def refuse(message):
        raise sender_module.DeliveryFailed(message.event_type)

    owner = Owner()
    sender = BackgroundSender(refuse, 10)
    sender.submit(_msg('progress', True, owner))
    assert sender.flush(5)
    assert owner.dropped == ['progress']


def test_a_worker_that_could_not_start_is_started_by_the_next_submit(
    monkeypatch,
):
    from ceilometer_backup.emitter import delivery as sender_module

    real_thread = sender_module.threading.Thread
    refusals = []

    class FirstStartFails(real_thread):
        def start(self):
            if not refusals:
                refusals.append(True)
                raise RuntimeError("can't start new thread")
            super().start()

    monkeypatch.setattr(sender_module.threading, 'Thread', FirstStartFails)
    sent = []
    sender = BackgroundSender(lambda m: sent.append(m.event_type), 10)
    with pytest.raises(RuntimeError):
        sender.submit(_msg('first', False))
    monkeypatch.setattr(sender_module.threading, 'Thread', real_thread)
    assert sender.submit(_msg('second', False))
    assert sender.flush(5)
    assert sent == ['first', 'second']


@pytest.fixture
def oslo_notifier(recorded):
    """oslo.messaging's real Notifier over its in-memory test driver."""
    conf = cinder_conf()
    return delivery.Watched(
        oslo_messaging.Notifier(
            oslo_messaging.get_notification_transport(conf),
            publisher_id='backup.h',
        )
    )


@pytest.fixture
def silenced(monkeypatch):
    """oslo.messaging's loggers silenced, as a logging configuration may."""
    for name in ('oslo_messaging', 'oslo_messaging.notify.notifier',
                 'oslo_messaging.notify.messaging'):  # fmt: skip
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, 'disabled', True)
        monkeypatch.setattr(logger, 'propagate', False)
        monkeypatch.setattr(logger, 'level', logging.CRITICAL + 1)


def test_a_failure_oslo_messaging_swallows_is_noticed(
    oslo_notifier, recorded, monkeypatch, silenced
):
    """Whatever the logging configuration: the driver raised."""

    def broker_down(self, ctxt, message, priority, retry):
        raise ConnectionRefusedError('broker down')

    monkeypatch.setattr(_impl_test.TestDriver, 'notify', broker_down)
    with pytest.raises(delivery.DeliveryFailed):
        oslo_notifier.deliver(_msg('backup.create.end', False))
    monkeypatch.undo()
    oslo_notifier.deliver(_msg('backup.create.end', False))
    assert recorded.event_types() == ['backup.create.end']


def test_a_reconnection_logged_during_a_delivered_send_is_no_failure(
    oslo_notifier, recorded, monkeypatch
):
    """Transport drivers log their reconnections at ERROR too; a message
    sent after one is delivered and must not be sent again."""
    real_notify = _impl_test.TestDriver.notify

    def reconnects_then_sends(self, ctxt, message, priority, retry):
        logging.getLogger('oslo_messaging._drivers.impl_rabbit').error(
            'AMQP server on 127.0.0.1:5672 is unreachable. Trying again.'
        )
        real_notify(self, ctxt, message, priority, retry)

    monkeypatch.setattr(_impl_test.TestDriver, 'notify', reconnects_then_sends)
    oslo_notifier.deliver(_msg('backup.create.end', False))
    assert recorded.event_types() == ['backup.create.end']


def test_a_failure_the_messaging_driver_swallows_is_retried_until_sent(
    monkeypatch, silenced
):
    """oslo.messaging's real messagingv2 driver over its fake transport:
    the broker refuses the first send, the driver logs (to nobody) and
    returns, and the message is sent again."""
    monkeypatch.setattr(delivery, 'RETRY_START', 0.01)
    conf = cinder_conf(url='fake:', driver='messagingv2')
    notifier = oslo_messaging.Notifier(
        oslo_messaging.get_notification_transport(conf),
        publisher_id='backup.h',
        driver='messagingv2',
        topics=['notifications'],
    )
    watched = delivery.Watched(notifier)
    attempts = []

    def broker_down_once(self, target, ctxt, message, version, retry):
        attempts.append(message['event_type'])
        if len(attempts) == 1:
            raise ConnectionRefusedError('broker down')

    monkeypatch.setattr(
        type(notifier.transport._driver), 'send_notification', broker_down_once
    )
    sender = BackgroundSender(watched.deliver, 10)
    sender.submit(_msg('backup.create.end', False))
    assert sender.flush(5)
    assert attempts == ['backup.create.end', 'backup.create.end']


@pytest.mark.parametrize(
    'symbol',
    ['Notifier._driver_mgr', 'NotificationTransport._send_notification'],
)
def test_an_oslo_messaging_without_what_is_watched_is_told_once(
    monkeypatch, caplog, symbol
):
    notifier = oslo_messaging.Notifier(
        oslo_messaging.get_notification_transport(cinder_conf()),
        publisher_id='backup.h',
    )
    if symbol == 'Notifier._driver_mgr':
        del notifier._driver_mgr
    else:
        for klass in type(notifier.transport).__mro__:
            if '_send_notification' in vars(klass):
                monkeypatch.delattr(klass, '_send_notification')
    with caplog.at_level(logging.ERROR):
        delivery.Watched(notifier)
    (error,) = [r.getMessage() for r in caplog.records]
    assert error == (
        f'oslo.messaging {metadata.version("oslo.messaging")} has no '
        f'{symbol}: notifications it fails to send are not seen, and not '
        'sent again'
    )
