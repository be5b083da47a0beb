"""Notifications as oslo.messaging's batch dispatcher hands them over."""

import datetime
import uuid

from ceilometer_backup import contract as c


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
