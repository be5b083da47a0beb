"""Backup notifications -> Ceilometer samples.

``BackupNotifications`` is the ``backup`` entry point of
``ceilometer.sample.endpoint``, loaded by ``ceilometer-agent-notification``
beside the stock declarative ``meter`` endpoint. Where that one differs:

- Event types are matched exactly: stock ``backup.create.*`` is a regex
  that also takes ``backup.createprogress`` and records every progress
  message as a size sample.
- A malformed notification costs one WARNING and its own bad samples,
  nothing else: stock ``process_notifications`` re-raises, which sends the
  whole batch back to the broker, again and again.
- A batch's samples are published in one call, so a publisher that sends
  over the network (Gnocchi) makes one request per batch, not per message.
- It is plain Python per message: no jsonpath, regex or config lookups.
- A sample's id comes from its notification's message id, so a message
  delivered twice gives the same samples twice, which a consumer keyed on
  sample id can recognise; stock draws a fresh ``uuid1()``, whose clock
  lock costs more than the rest of building a sample.

It accepts what stock Cinder 29 sends too: its ``backup.createprogress``
has ``id`` = the next chunk number, the cumulative chunk ``list`` and a
``backup_percent`` that is wrong (clamped here); those bulky keys never
reach sample metadata.
"""

import datetime
import hashlib
import math

from ceilometer.pipeline.sample import SampleEndpoint
from ceilometer.sample import Sample
from oslo_log import log as logging

from ceilometer_backup import contract as c
from ceilometer_backup.contract import STRING_MAX
from ceilometer_backup.meter import meters
from ceilometer_backup.meter.gnocchi import schema
from ceilometer_backup.meter.metadata import backup_metadata

LOG = logging.getLogger(__name__)

# A reset's too: its status reaches the backup's Gnocchi resource at once,
# not at the next polling cycle.
_SIZED_EVENTS = frozenset(
    {c.EXISTS_EVENT, c.RESET_STATUS_EVENT}
    | {c.event_type(op, ph) for op in c.OPERATIONS for ph in (c.START, c.END)}
)
# What an ".end" may carry besides the size: payload key, meter.
_END_FIGURES = {
    c.event_type(op, c.END): [('duration', meters.DURATION[op])]
    for op in c.OPERATIONS
}
_END_FIGURES[c.event_type(c.CREATE, c.END)] += [
    ('stored_bytes', meters.STORED),
    ('changed_bytes', meters.CHANGED),
]
_ERROR_EVENTS = {c.event_type(op, c.ERROR): op for op in c.OPERATIONS}
_PROGRESS_EVENTS = {event: op for op, event in c.PROGRESS_EVENTS.items()}
_IDLE = 'idle_seconds'
_PROGRESS_FIGURES = [(_IDLE, meters.IDLE)]

# A rejection's log line quotes at most this much of the offending value.
QUOTE_MAX = 60


class Rejected(ValueError):
    """A notification, or one field of it, that cannot become a sample."""

    def __init__(self, field, reason):
        super().__init__(f'{field}: {reason}')
        self.field = field


def _quote(value):
    """A short, printable description of a bad value for a log line."""
    text = repr(value)
    if len(text) > QUOTE_MAX:
        text = f'{text[:QUOTE_MAX]}... ({len(text)} chars)'
    return text


def _identifier(payload, key):
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise Rejected(
            key, f'missing or not a string ({type(value).__name__})'
        )
    if len(value) > STRING_MAX or not value.isprintable():
        raise Rejected(
            key, f'not a printable identifier of at most {STRING_MAX} chars'
        )
    return value


def _number(payload, key):
    """A finite, non-negative number, or Rejected."""
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(key, f'not a number ({type(value).__name__})')
    if not math.isfinite(value) or value < 0:
        raise Rejected(
            key, f'not a finite non-negative number ({_quote(value)})'
        )
    return value


def _timestamp(metadata):
    """The notification's own timestamp, ISO 8601 with its UTC offset."""
    try:
        stamp = datetime.datetime.fromisoformat(metadata['timestamp'])
    except (KeyError, TypeError, ValueError) as exc:
        raise Rejected(
            'metadata.timestamp', 'missing or not ISO 8601'
        ) from exc
    if stamp.tzinfo is None:
        # oslo.messaging stamps naive UTC; this spells it as
        # replace(tzinfo=UTC).isoformat() would, at a third of the cost.
        return f'{stamp.isoformat()}+00:00'
    return stamp.isoformat()


# The first hex digit of a UUID's variant field, RFC 9562: 0b10xx.
_VARIANT = {digit: '89ab'[int(digit, 16) & 3] for digit in '0123456789abcdef'}


def sample_id(message_id, meter_name):
    """A version-8 UUID naming one meter of one message, or None (then
    ``Sample`` draws its own) when the message carries no id."""
    if not isinstance(message_id, str):
        return None
    # surrogatepass: JSON may carry a lone surrogate, and a message id is
    # never a reason to lose the message.
    digest = hashlib.blake2b(
        f'{message_id}/{meter_name}'.encode('utf-8', 'surrogatepass'),
        digest_size=16,
    ).hexdigest()
    return (
        f'{digest[:8]}-{digest[8:12]}-8{digest[13:16]}-'
        f'{_VARIANT[digest[16]]}{digest[17:20]}-{digest[20:]}'
    )


def _metadata(payload, event_type):
    metadata = backup_metadata(payload)
    metadata['event_type'] = event_type
    return metadata


def _figures(payload, figures, problems):
    """(meter, volume) of each (key, meter) of ``figures`` the payload
    carries; a bad one costs its own sample and lands in ``problems``."""
    volumes = []
    for key, meter in figures:
        if key in payload:
            try:
                volumes.append((meter, _number(payload, key)))
            except Rejected as exc:
                problems.append(exc)
    return volumes


def _volumes(event_type, payload, metadata, problems):
    """(meter, volume) of each sample the event gives. A bad volume costs
    its own sample and lands in ``problems``; a bad event raises."""
    if event_type in _SIZED_EVENTS:
        volumes = [(meters.EXISTENCE, 1)]
        try:
            volumes.append((meters.SIZE, _number(payload, 'size')))
        except Rejected as exc:
            problems.append(exc)
        figures = _figures(payload, _END_FIGURES.get(event_type, ()), problems)
        stored = dict(figures).get(meters.STORED)
        if stored is not None:
            # Kept on the backup's Gnocchi resource: what polling carries
            # forward (meter/gnocchi/stored.py).
            metadata[schema.STORED_ATTRIBUTE] = stored
        return volumes + figures
    if event_type in _PROGRESS_EVENTS:
        metadata['operation'] = _PROGRESS_EVENTS[event_type]
        percent = payload.get('backup_percent')
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int | float)
            or math.isnan(percent)
        ):
            raise Rejected(
                'backup_percent', f'not a number ({_quote(percent)})'
            )
        volumes = [(meters.PROGRESS, min(100.0, max(0.0, float(percent))))]
        # Only the reports of a stalled operation carry it.
        if _IDLE in payload:
            volumes += _figures(payload, _PROGRESS_FIGURES, problems)
        return volumes
    if event_type in _ERROR_EVENTS:
        return [(meters.ERROR, 1)]
    raise Rejected('event_type', 'not a backup event')


class BackupNotifications(SampleEndpoint):
    """Samples of backup notifications, published once per batch."""

    event_types = [
        '^(?:{})$'.format(
            '|'.join(e.replace('.', r'\.') for e in sorted(c.EVENT_TYPES))
        )
    ]

    def process_notifications(self, priority, notifications):
        samples = []
        for message in notifications:
            samples.extend(self.build_sample(message))
        if samples:
            with self.publisher as publish:
                publish(samples)

    def build_sample(self, message):
        """The samples of one notification; never raises.

        A bad message, or a bad field of one, costs one WARNING and its own
        samples, never its neighbours in the batch.
        """
        problems = []
        try:
            samples = _samples(message, problems)
        except Rejected as exc:
            problems.append(exc)
            samples = []
        except Exception as exc:  # a bug must not cost the whole batch
            problems.append(Rejected('notification', _quote(exc)))
            samples = []
        if problems:
            _warn(message, problems)
        return samples


def _warn(message, problems):
    try:
        event_type = message.get('event_type')
        message_id = message.get('metadata', {}).get('message_id')
    except Exception:
        event_type = message_id = None
    LOG.warning(
        'Rejected %(fields)s of %(event)s notification %(id)s: %(why)s',
        {
            'fields': ', '.join(p.field for p in problems),
            'event': _quote(event_type),
            'id': _quote(message_id),
            'why': '; '.join(str(p) for p in problems),
        },
    )


def _samples(message, problems):
    event_type = message['event_type']
    payload = message['payload']
    if not isinstance(payload, dict):
        raise Rejected('payload', f'not an object ({type(payload).__name__})')
    resource_id = _identifier(payload, 'backup_id')
    project_id = _identifier(payload, 'tenant_id')
    try:
        user_id = _identifier(payload, 'user_id')
    except Rejected:
        user_id = None  # optional: a sample without user is still billed
    envelope = message.get('metadata')
    timestamp = _timestamp(envelope)
    message_id = envelope.get('message_id')
    metadata = _metadata(payload, event_type)
    return [
        Sample(
            name=meter.name,
            type=meter.type,
            unit=meter.unit,
            volume=volume,
            user_id=user_id,
            project_id=project_id,
            resource_id=resource_id,
            timestamp=timestamp,
            resource_metadata=metadata,
            id=sample_id(message_id, meter.name),
        )
        for meter, volume in _volumes(event_type, payload, metadata, problems)
    ]
