"""Notifications as oslo.messaging's batch dispatcher hands them over,
and stock Cinder's, sent over a broker."""

import datetime
import uuid

import oslo_messaging

from ceilometer_backup import contract as c
from tests.support.config import cinder_conf


def notification(event_type, payload, host='backup-host@posix'):
    """One notification, with a fresh message id and a fixed timestamp."""
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


def volume_notifier(url):
    """A notifier sending as cinder-volume does, over the broker at
    ``url``: what gives stock Ceilometer's ``volume.size``."""
    conf = cinder_conf(url=url, driver='messagingv2')
    return oslo_messaging.Notifier(
        oslo_messaging.get_notification_transport(conf),
        publisher_id='volume.node-1',
        driver='messagingv2',
        topics=['notifications'],
    )


def send_volume_exists(notifier):
    """Stock Cinder's ``volume.exists`` of a new volume; its id."""
    volume_id = str(uuid.uuid4())
    notifier.info(
        {},
        'volume.exists',
        {
            'volume_id': volume_id,
            'tenant_id': 'p' * 32,
            'user_id': 'u' * 32,
            'size': 1,
            'display_name': 'data',
        },
    )
    return volume_id
