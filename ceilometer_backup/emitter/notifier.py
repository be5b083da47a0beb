"""Sends backup notifications the way Cinder does, without ever blocking.

Messages go out with priority INFO and publisher_id ``backup.<host>`` on
the ``cinder`` control exchange, through the transport, driver, topics and
retry policy of the standard ``[oslo_messaging_notifications]`` group, so
an operator configures nothing new to get them to Ceilometer.
"""

import logging as std_logging
import threading

import oslo_messaging
from oslo_log import log as logging

from ceilometer_backup import contract as c
from ceilometer_backup import opts
from ceilometer_backup.emitter.operation import BackupOperation
from ceilometer_backup.emitter.sender import (
    BackgroundSender,
    DeliveryFailed,
    Message,
)

LOG = logging.getLogger(__name__)


def notifications_enabled(conf):
    """Same test as Cinder's: a driver is configured and it is not noop."""
    drivers = set(conf.oslo_messaging_notifications.driver)
    return bool(drivers) and drivers != {'noop'}


class _ContextSerializer(oslo_messaging.NoOpSerializer):
    """Turns a request context into the dict the wire carries.

    oslo.messaging has already replaced the context by its redacted copy
    (no token) by the time this runs.
    """

    def serialize_context(self, ctxt):
        to_dict = getattr(ctxt, 'to_dict', None)
        return to_dict() if to_dict is not None else {}


class _FailureWatch(std_logging.Filter):
    """Notices the send failures oslo.messaging logs and swallows.

    ``Notifier.info`` never raises: its messaging driver logs "Could not
    send notification" and returns. This filter, on the loggers that say
    so, records the failure for the thread that sent, so the sender can
    back off instead of failing (and logging) every queued message.
    """

    LOGGERS = (
        'oslo_messaging.notify.messaging',
        'oslo_messaging.notify.notifier',
    )

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    def filter(self, record):
        if record.levelno >= std_logging.ERROR:
            self._local.failed = True
        return True

    def failed(self):
        """Whether this thread saw a failure since it last asked."""
        failed = getattr(self._local, 'failed', False)
        self._local.failed = False
        return failed


_FAILURES = _FailureWatch()
for _name in _FailureWatch.LOGGERS:
    std_logging.getLogger(_name).addFilter(_FAILURES)


class BackupNotifier:
    """Backup notifications of one Cinder backup host."""

    enabled = True

    def __init__(self, notifier, host, conf):
        self._notifier = notifier.prepare(
            publisher_id=f'{c.PUBLISHER_SERVICE}.{host}'
        )
        self.conf = conf[opts.NOTIFICATIONS_GROUP]
        self._sender = BackgroundSender(
            self._deliver, self.conf.max_queued_notifications
        )

    @classmethod
    def from_config(cls, conf, host):
        """A notifier configured from ``conf``, or a disabled one.

        The ``cinder`` control exchange is only a default: a deployment
        that set ``control_exchange`` explicitly keeps its own.
        """
        opts.register_opts(conf)
        oslo_messaging.set_transport_defaults(c.CONTROL_EXCHANGE)
        transport = oslo_messaging.get_notification_transport(conf)
        if not notifications_enabled(conf):
            LOG.info(
                'Backup notifications are disabled: no notification '
                'driver is set in [oslo_messaging_notifications]'
            )
            return DisabledNotifier(conf)
        notifier = oslo_messaging.Notifier(
            transport, serializer=_ContextSerializer()
        )
        return cls(notifier, host, conf)

    def _deliver(self, message):
        _FAILURES.failed()  # forget failures of earlier, unrelated sends
        self._notifier.info(message.ctxt, message.event_type, message.payload)
        if _FAILURES.failed():
            raise DeliveryFailed(message.event_type)

    def send(self, ctxt, event_type, payload, droppable=False, owner=None):
        """Queue one notification; False if the full queue dropped it."""
        return self._sender.submit(
            Message(ctxt, event_type, payload, droppable, owner)
        )

    def flush(self):
        """Wait, at most ``flush_timeout`` seconds, for the queue to drain."""
        return self._sender.flush(self.conf.flush_timeout)

    def operation(self, ctxt, backup, operation, **kwargs):
        """Track one create, restore or delete: see ``BackupOperation``."""
        return BackupOperation(self, ctxt, backup, operation, **kwargs)


class DisabledNotifier(BackupNotifier):
    """Builds and sends nothing, at the cost of a method call per chunk."""

    enabled = False

    def __init__(self, conf):
        opts.register_opts(conf)
        self.conf = conf[opts.NOTIFICATIONS_GROUP]

    def send(self, ctxt, event_type, payload, droppable=False, owner=None):
        return False

    def flush(self):
        return True
