import copy
import logging
import uuid
from unittest import mock

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.demo.agent import InProcessAgent
from ceilometer_backup.emitter.payload import build_payload
from ceilometer_backup.meter import sample as endpoint
from testcloud.ceilometer_services import OVERRIDE_METERS_DIR, STOCK_METERS_DIR
from tests.support import cinder_objects, config
from tests.support.messages import notification


@pytest.fixture(scope='module')
def agent():
    return InProcessAgent(config.ceilometer_conf())


def _payload(**extra):
    backup = cinder_objects.backup(size=10, status='available')
    return build_payload(backup, **extra)


def _by_name(samples):
    return {s.name: s for s in samples}


@pytest.mark.parametrize('operation', c.OPERATIONS)
@pytest.mark.parametrize('phase', [c.START, c.END])
def test_lifecycle_gives_size_and_existence(agent, operation, phase):
    payload = _payload()
    message = notification(c.event_type(operation, phase), payload)
    samples = _by_name(agent.receive(message))
    assert set(samples) == {'backup.size', 'backup'}
    size = samples['backup.size']
    assert (size.type, size.unit, size.volume) == ('gauge', 'GiB', 10)
    existence = samples['backup']
    assert (existence.type, existence.unit, existence.volume) == (
        'gauge',
        'backup',
        1,
    )
    for sample in samples.values():
        assert sample.resource_id == payload['backup_id']
        assert sample.project_id == 'project-1'
        assert sample.user_id == 'user-1'
        assert sample.timestamp == '2026-11-25T01:02:03.456789+00:00'
        meta = sample.resource_metadata
        assert meta['display_name'] == 'nightly'
        assert meta['volume_id'] == payload['volume_id']
        assert meta['availability_zone'] == 'az1'
        assert meta['host'] == 'backup-host@posix'
        assert meta['status'] == 'available'
        assert meta['is_incremental'] is False
        assert meta['container'] == 'backups'
        assert meta['event_type'] == c.event_type(operation, phase)


def test_exists_from_the_usage_audit(agent):
    payload = _payload(
        audit_period_beginning='2026-11-24T00:00:00',
        audit_period_ending='2026-11-25T00:00:00',
    )
    samples = _by_name(agent.receive(notification('backup.exists', payload)))
    assert set(samples) == {'backup.size', 'backup'}


def test_a_status_reset_gives_size_and_existence_with_the_new_status(agent):
    """What ``cinder backup-reset-state`` makes Cinder's manager send."""
    backup = cinder_objects.backup(size=10, status='error')
    message = notification(c.RESET_STATUS_EVENT, build_payload(backup))
    samples = _by_name(agent.receive(message))
    assert set(samples) == {'backup.size', 'backup'}
    for sample in samples.values():
        assert sample.resource_metadata['status'] == 'error'
        assert sample.resource_metadata['event_type'] == c.RESET_STATUS_EVENT


@pytest.mark.parametrize('operation', c.OPERATIONS)
def test_end_with_duration_gives_duration(agent, operation):
    message = notification(
        c.event_type(operation, c.END), _payload(duration=42.5)
    )
    samples = _by_name(agent.receive(message))
    duration = samples[f'backup.{operation}.duration']
    assert (duration.type, duration.unit, duration.volume) == (
        'gauge',
        's',
        42.5,
    )


def test_a_redelivered_message_gives_the_same_sample_ids(agent):
    message = notification('backup.create.end', _payload(duration=1.0))
    first = agent.receive(message)
    again = agent.receive(copy.deepcopy(message))
    assert len(first) == 3
    assert [s.id for s in again] == [s.id for s in first]
    ids = [uuid.UUID(s.id) for s in first]
    assert len(set(ids)) == 3
    assert {(i.version, i.variant) for i in ids} == {(8, uuid.RFC_4122)}
    other = notification('backup.create.end', message['payload'])
    assert {s.id for s in agent.receive(other)}.isdisjoint(s.id for s in first)


def test_a_message_without_id_still_gives_distinct_sample_ids(agent):
    message = notification('backup.create.end', _payload())
    del message['metadata']['message_id']
    samples = agent.receive(message, copy.deepcopy(message))
    assert len({uuid.UUID(s.id) for s in samples}) == len(samples) == 4


@pytest.mark.parametrize('message_id', ['\ud800', 'x' * 2**20, ''])
def test_an_odd_message_id_still_names_the_samples(agent, message_id):
    message = notification('backup.create.end', _payload())
    message['metadata']['message_id'] = message_id
    samples = agent.receive(message, copy.deepcopy(message))
    assert len(samples) == 4
    assert len({uuid.UUID(s.id) for s in samples}) == 2


@pytest.mark.parametrize('operation', c.OPERATIONS)
def test_error_gives_one_error_delta_with_reason(agent, operation):
    payload = _payload(fail_reason='repository full', duration=3.0)
    message = notification(c.event_type(operation, c.ERROR), payload)
    (sample,) = agent.receive(message)
    assert (sample.name, sample.type, sample.unit, sample.volume) == (
        'backup.error',
        'delta',
        'backup',
        1,
    )
    assert sample.resource_metadata['fail_reason'] == 'repository full'


@pytest.mark.parametrize(
    'event_type, operation',
    [
        ('backup.createprogress', 'create'),
        ('backup.restoreprogress', 'restore'),
    ],
)
def test_progress_gives_progress_only(agent, event_type, operation):
    payload = _payload(backup_percent=37.5, bytes_done=1, bytes_total=2)
    (sample,) = agent.receive(notification(event_type, payload))
    assert (sample.name, sample.type, sample.unit, sample.volume) == (
        'backup.progress',
        'gauge',
        '%',
        37.5,
    )
    assert sample.resource_metadata['operation'] == operation


def test_progress_with_idle_seconds_gives_idle_too(agent):
    payload = _payload(backup_percent=40.0, idle_seconds=360.5)
    samples = _by_name(
        agent.receive(notification('backup.createprogress', payload))
    )
    assert set(samples) == {'backup.progress', 'backup.idle'}
    idle = samples['backup.idle']
    assert (idle.type, idle.unit, idle.volume) == ('gauge', 's', 360.5)
    assert idle.resource_id == payload['backup_id']


@pytest.mark.parametrize('idle', [-1, 'long', None, float('nan')])
def test_bad_idle_seconds_drops_only_the_idle_sample(agent, caplog, idle):
    payload = _payload(backup_percent=40.0, idle_seconds=idle)
    with caplog.at_level(logging.WARNING):
        samples = agent.receive(notification('backup.createprogress', payload))
    assert [(s.name, s.volume) for s in samples] == [('backup.progress', 40.0)]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'idle_seconds' in warning


def test_stock_cinder_progress_is_understood_and_trimmed(agent):
    backup = cinder_objects.backup(size=1)
    payload = cinder_objects.stock_progress_payload(backup, chunks_done=20)
    assert payload['id'] == 21, 'Cinder puts the next chunk number in id'
    (sample,) = agent.receive(notification('backup.createprogress', payload))
    assert sample.resource_id == backup.id
    assert 0 < sample.volume < 0.01, "Cinder's percentage, clamped"
    for bulky in ('list', 'volume_meta', 'prefix', 'id'):
        assert bulky not in sample.resource_metadata


def test_stock_cinder_lifecycle_payload(agent):
    from cinder.volume import volume_utils

    backup = cinder_objects.backup(size=7)
    payload = volume_utils._usage_from_backup(backup)
    samples = _by_name(
        agent.receive(notification('backup.create.end', payload))
    )
    assert samples['backup.size'].volume == 7
    assert 'backup.create.duration' not in samples


@pytest.mark.parametrize('percent, expected', [(-5, 0.0), (250, 100.0)])
def test_percent_is_clamped(agent, percent, expected):
    payload = _payload(backup_percent=percent)
    (sample,) = agent.receive(notification('backup.createprogress', payload))
    assert sample.volume == expected


def test_optional_keys_may_be_missing(agent):
    payload = {'backup_id': 'b-1', 'tenant_id': 'p-1', 'size': 1}
    samples = _by_name(
        agent.receive(notification('backup.create.end', payload))
    )
    assert samples['backup.size'].user_id is None
    assert samples['backup.size'].resource_metadata == {
        'event_type': 'backup.create.end'
    }


def test_metadata_strings_are_capped(agent):
    payload = _payload(display_name='x' * 100_000)
    (sample, _) = agent.receive(notification('backup.create.end', payload))
    assert len(sample.resource_metadata['display_name']) == 255


def test_unrelated_events_are_not_taken(agent):
    for event_type in ('backup.create', 'backup.created.end', 'volume.exists'):
        assert agent.receive(notification(event_type, _payload())) == []


def test_no_duplicates_beside_the_stock_meter_endpoint():
    """Real stock ProcessMeterNotifications, with the shipped override."""
    conf = config.ceilometer_conf(
        meter_dirs=[
            OVERRIDE_METERS_DIR,
            STOCK_METERS_DIR,
        ]
    )
    agent = InProcessAgent(conf, names=('meter', 'backup'))
    backup = cinder_objects.backup(size=5)
    qualifying = [
        c.event_type(op, ph) for op in c.OPERATIONS for ph in (c.START, c.END)
    ] + ['backup.exists']
    for event_type in qualifying:
        samples = agent.receive(
            notification(event_type, build_payload(backup))
        )
        assert [s.name for s in samples].count('backup.size') == 1, event_type
    progress = cinder_objects.stock_progress_payload(backup, chunks_done=10)
    for event_type in ('backup.createprogress', 'backup.create.error'):
        samples = agent.receive(notification(event_type, progress))
        assert 'backup.size' not in [s.name for s in samples], event_type


def test_without_the_override_stock_duplicates_and_misreads_progress():
    """The proof above can fail: the stock definition is live otherwise."""
    conf = config.ceilometer_conf(meter_dirs=[STOCK_METERS_DIR])
    agent = InProcessAgent(conf, names=('meter', 'backup'))
    backup = cinder_objects.backup(size=5)
    samples = agent.receive(
        notification('backup.create.end', build_payload(backup))
    )
    assert [s.name for s in samples].count('backup.size') == 2
    progress = cinder_objects.stock_progress_payload(backup, chunks_done=10)
    samples = agent.receive(notification('backup.createprogress', progress))
    assert 'backup.size' in [s.name for s in samples]


def _bad(field, **payload_changes):
    payload = _payload()
    payload.update(payload_changes)
    for key, value in list(payload.items()):
        if value is _DELETE:
            del payload[key]
    return field, payload


_DELETE = object()


@pytest.mark.parametrize(
    'field, payload',
    [
        _bad('backup_id', backup_id=_DELETE),
        _bad('backup_id', backup_id=12),
        _bad('backup_id', backup_id=''),
        _bad('tenant_id', tenant_id=None),
        _bad('tenant_id', tenant_id=['p']),
    ],
)
def test_malformed_identity_rejects_the_message_alone(
    agent, caplog, field, payload
):
    good = [notification('backup.create.end', _payload()) for _ in range(2)]
    bad = notification('backup.create.end', payload)
    with caplog.at_level(logging.WARNING):
        samples = agent.receive(good[0], bad, good[1])
    assert {s.resource_id for s in samples} == {
        n['payload']['backup_id'] for n in good
    }
    assert len(samples) == 4
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert field in warnings[0]
    assert 'backup.create.end' in warnings[0]
    assert bad['metadata']['message_id'] in warnings[0]


@pytest.mark.parametrize(
    'size', [-1, float('nan'), float('inf'), '10', None, True, {'gib': 1}]
)
def test_bad_size_drops_only_the_size_sample(agent, caplog, size):
    message = notification('backup.create.end', _payload(size=size))
    with caplog.at_level(logging.WARNING):
        samples = agent.receive(message)
    assert [s.name for s in samples] == ['backup']
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'size' in warning


def test_junk_notifications_in_a_batch(agent, caplog):
    good = notification('backup.delete.end', _payload())
    junk = [
        notification('backup.create.end', 'not a dict'),
        notification('backup.create.end', None),
        notification('backup.createprogress', _payload(backup_percent='50')),
        notification('backup.createprogress', _payload(backup_percent=None)),
        dict(notification('backup.create.end', _payload()), metadata={}),
    ]
    with caplog.at_level(logging.WARNING):
        samples = agent.receive(junk[0], junk[1], good, *junk[2:])
    assert [s.resource_id for s in samples] == [
        good['payload']['backup_id']
    ] * 2
    assert len(caplog.records) == len(junk)


def test_a_bug_in_building_costs_one_message(agent, caplog, monkeypatch):
    calls = []

    def broken_metadata(payload, event_type):
        calls.append(event_type)
        if len(calls) == 1:
            raise RuntimeError('bug')
        return {}

    monkeypatch.setattr(endpoint, '_metadata', broken_metadata)
    first = notification('backup.create.end', _payload())
    second = notification('backup.create.end', _payload())
    with caplog.at_level(logging.WARNING):
        samples = agent.receive(first, second)
    assert {s.resource_id for s in samples} == {second['payload']['backup_id']}
    assert 'RuntimeError' in caplog.records[0].getMessage()


def test_a_batch_is_published_in_one_call(agent, monkeypatch):
    publisher = agent.manager.pipelines[0].sink.publishers[0]
    calls = []
    original = publisher.publish_samples

    def counting(samples):
        calls.append(len(samples))
        original(samples)

    monkeypatch.setattr(publisher, 'publish_samples', counting)
    batch = [notification('backup.create.end', _payload()) for _ in range(50)]
    assert len(agent.receive(*batch)) == 100
    assert calls == [100]


def test_build_sample_gives_the_samples_of_one_message(caplog):
    """Called as Ceilometer's own tests call an endpoint's hook."""
    handler = endpoint.BackupNotifications(
        config.ceilometer_conf(), mock.Mock()
    )
    message = notification('backup.create.end', _payload(duration=4.5))
    samples = list(handler.build_sample(message))
    assert sorted((s.name, s.volume) for s in samples) == [
        ('backup', 1),
        ('backup.create.duration', 4.5),
        ('backup.size', 10),
    ]
    assert {s.resource_id for s in samples} == {
        message['payload']['backup_id']
    }
    assert not handler.publisher.mock_calls, 'building publishes nothing'
    with caplog.at_level(logging.WARNING):
        assert (
            list(handler.build_sample(notification('backup.exists', {}))) == []
        )
    assert len(caplog.records) == 1


def test_create_end_with_stored_and_changed_bytes(agent):
    message = notification(
        'backup.create.end',
        _payload(duration=3.0, stored_bytes=3295589, changed_bytes=3145728),
    )
    samples = _by_name(agent.receive(message))
    stored, changed = (
        samples['backup.stored.size'],
        samples['backup.changed.size'],
    )
    assert (stored.type, stored.unit, stored.volume) == ('gauge', 'B', 3295589)
    assert (changed.unit, changed.volume) == ('B', 3145728)
    assert stored.resource_id == samples['backup.size'].resource_id
    assert stored.resource_metadata == samples['backup.size'].resource_metadata
    # Kept on the Gnocchi resource, for polling to carry forward.
    assert stored.resource_metadata['stored_bytes'] == 3295589
    # Only create stores anything.
    message = notification(
        'backup.restore.end', _payload(stored_bytes=1, changed_bytes=1)
    )
    samples = agent.receive(message)
    assert 'backup.stored.size' not in _by_name(samples)
    assert all('stored_bytes' not in s.resource_metadata for s in samples)


@pytest.mark.parametrize('stored', [-1, 'many', float('inf'), None])
def test_a_bad_stored_figure_is_not_kept_on_the_resource(agent, stored):
    message = notification(
        'backup.create.end', _payload(stored_bytes=stored, changed_bytes=5)
    )
    samples = _by_name(agent.receive(message))
    assert 'backup.stored.size' not in samples
    assert samples['backup.changed.size'].volume == 5
    assert 'stored_bytes' not in samples['backup.size'].resource_metadata
