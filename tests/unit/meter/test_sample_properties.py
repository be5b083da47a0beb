"""Whatever arrives, the endpoint neither raises nor loses good messages."""

import logging
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceilometer_backup import contract as c
from ceilometer_backup.meter import metadata
from ceilometer_backup.meter.sample import BackupNotifications
from tests.support.strategies import JUNK, TEXT

KEYS = st.sampled_from(
    c.USAGE_KEYS
    + c.PROGRESS_KEYS
    + c.END_KEYS
    + ('list', 'id', 'prefix')  # stock Cinder's progress
)
EVENT_TYPES = st.sampled_from(sorted(c.EVENT_TYPES)) | TEXT


def _junk_notification():
    payload = st.dictionaries(KEYS | TEXT, JUNK, max_size=12) | JUNK
    timestamp = st.sampled_from(['2026-11-25 01:02:03.456789']) | JUNK
    return st.fixed_dictionaries(
        {
            'ctxt': st.just({}),
            'publisher_id': TEXT,
            'event_type': EVENT_TYPES,
            'payload': payload,
            'metadata': st.fixed_dictionaries(
                {
                    'message_id': st.sampled_from(['dup', 'dup2']) | TEXT,
                    'timestamp': timestamp,
                }
            )
            | JUNK,
        }
    )


@st.composite
def _valid_notification(draw, n):
    event_type = draw(st.sampled_from(sorted(c.EVENT_TYPES)))
    payload = {
        'backup_id': f'backup-{n}',
        'tenant_id': 'project',
        'user_id': 'user',
        'size': draw(st.integers(min_value=0, max_value=2**40)),
        'backup_percent': draw(st.floats(0, 100)),
        'duration': draw(st.floats(0, 1e6)),
        'display_name': draw(TEXT),
    }
    return {
        'ctxt': {},
        'publisher_id': 'backup.host',
        'event_type': event_type,
        'payload': payload,
        'metadata': {
            'message_id': f'valid-{n}',
            'timestamp': '2026-11-25T01:02:03+00:00',
        },
    }


@st.composite
def _batches(draw):
    valid = [
        draw(_valid_notification(n)) for n in range(draw(st.integers(0, 4)))
    ]
    junk = draw(st.lists(_junk_notification(), max_size=8))
    batch = valid + junk
    order = draw(st.permutations(range(len(batch))))
    return [batch[i] for i in order], valid, junk


class Collect:
    def __init__(self):
        self.samples = []

    def __enter__(self):
        return self.samples.extend

    def __exit__(self, *exc_info):
        return False


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
    ],
)
@given(_batches())
def test_endpoint_never_raises_and_keeps_every_valid_message(batch):
    notifications, valid, junk = batch
    publisher = Collect()
    endpoint = BackupNotifications(None, publisher)
    capture = _Capture()
    logger = logging.getLogger('ceilometer_backup.meter.sample')
    logger.addHandler(capture)
    try:
        endpoint.info(notifications)
    finally:
        logger.removeHandler(capture)
    samples = publisher.samples
    for sample in samples:
        assert sample.user_id is None or sample.user_id.isprintable()
        assert isinstance(sample.volume, int | float)
        assert math.isfinite(sample.volume)
        assert len(sample.resource_metadata) <= len(metadata.METADATA_KEYS) + 2
        for value in sample.resource_metadata.values():
            assert not isinstance(value, str) or len(value) <= 255
    produced = {s.resource_id for s in samples}
    for notification in valid:
        assert notification['payload']['backup_id'] in produced
    # At most one short WARNING per message, and none for a good one.
    assert len(capture.messages) <= len(junk)
    assert all(len(m) < 1000 for m in capture.messages)
    assert not any('valid-' in m for m in capture.messages)
