"""Sends backup notifications the way Cinder does, without ever blocking.

Messages go out with priority INFO and publisher_id ``backup.<host>`` on
Cinder's control exchange, through the transport, driver, topics and
retry policy of the standard ``[oslo_messaging_notifications]`` group, so
an operator configures nothing new to get them to Ceilometer.
"""

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging

from ceilometer_backup import contract as c
from ceilometer_backup import opts
from ceilometer_backup.emitter import delivery
from ceilometer_backup.emitter.operation import BackupOperation

LOG = logging.getLogger(__name__)


def standalone_conf(url, driver='messagingv2', **notification_opts):
    """The Cinder side's configuration without a cinder.conf, sending over
    ``url``: what the demo runs with, and what the tests build notifiers
    from (``driver`` ``test`` is oslo.messaging's in-memory recorder)."""
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project='cinder', default_config_files=[])
    oslo_messaging.get_notification_transport(conf, url=url)
    conf.set_override('transport_url', url)
    conf.set_override('control_exchange', c.CONTROL_EXCHANGE)
    conf.set_override('driver', [driver], group='oslo_messaging_notifications')
    for name, value in notification_opts.items():
        conf.set_override(name, value, group=opts.NOTIFICATIONS_GROUP)
    return conf


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


class BackupNotifier:
    """Backup notifications of one Cinder backup host."""

    enabled = True

    def __init__(self, notifier, host, conf):
        watched = delivery.Watched(
            notifier.prepare(publisher_id=f'{c.PUBLISHER_SERVICE}.{host}')
        )
        self.conf = conf[opts.NOTIFICATIONS_GROUP]
        self._sender = delivery.BackgroundSender(
            watched.deliver, self.conf.max_queued_notifications
        )

    @classmethod
    def from_config(cls, conf, host):
        """A notifier configured from ``conf``, or a disabled one.

        It sends where Cinder sends its own notifications: the
        ``control_exchange`` of cinder.conf (oslo.messaging's default,
        ``openstack``, where Cinder sets none). Nothing of Cinder's
        process-wide messaging defaults is changed.
        """
        opts.register_opts(conf)
        transport = oslo_messaging.get_notification_transport(conf)
        if not notifications_enabled(conf):
            LOG.info(
                'Backup notifications are disabled: no notification '
                'driver is set in [oslo_messaging_notifications]'
            )
            return NullNotifier(conf)
        notifier = oslo_messaging.Notifier(
            transport, serializer=_ContextSerializer()
        )
        return cls(notifier, host, conf)

    def send(self, ctxt, event_type, payload, droppable=False, owner=None):
        """Queue one notification; False if the full queue dropped it."""
        return self._sender.submit(
            delivery.Message(ctxt, event_type, payload, droppable, owner)
        )

    def flush(self):
        """Wait, at most ``flush_timeout`` seconds, for the queue to drain."""
        return self._sender.flush(self.conf.flush_timeout)

    def operation(self, ctxt, backup, operation, **kwargs):
        """Track one create, restore or delete: see ``BackupOperation``."""
        return BackupOperation(self, ctxt, backup, operation, **kwargs)


class NullNotifier:
    """Builds and sends nothing, at the cost of a method call per chunk."""

    enabled = False

    def __init__(self, conf):
        self.conf = conf[opts.NOTIFICATIONS_GROUP]

    def send(self, ctxt, event_type, payload, droppable=False, owner=None):
        return False

    def flush(self):
        return True

    operation = BackupNotifier.operation
