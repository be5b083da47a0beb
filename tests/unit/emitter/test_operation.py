import json
import logging
import threading

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import operation
from ceilometer_backup.emitter.notification import BackupNotifier
from tests.support import MIB, cinder_objects
from tests.support.checks import assert_cinder_envelope


def _create(notifier, backup, chunks, chunk=64 * MIB, **kwargs):
    ctxt = cinder_objects.request_context()
    with notifier.operation(ctxt, backup, c.CREATE, **kwargs) as op:
        for _ in range(chunks):
            op.advance(chunk)
        backup.status = 'available'
    notifier.flush()


def test_create_sends_start_progress_end(notifier, recorded):
    backup = cinder_objects.backup(size=1)  # 1 GiB = 16 chunks of 64 MiB
    _create(notifier, backup, 16)
    assert recorded.event_types() == [
        'backup.create.start',
        'backup.createprogress',
        'backup.createprogress',
        'backup.create.end',
    ]
    assert_cinder_envelope(recorded.messages, 'backup.backup-host@posix')
    assert {m['payload']['backup_id'] for m in recorded.messages} == {
        backup.id
    }
    start, p1, p2, end = (m['payload'] for m in recorded.messages)
    assert start['status'] == 'creating'
    assert (p1['backup_percent'], p2['backup_percent']) == (62.5, 100.0)
    assert p1['operation'] == c.CREATE
    assert p1['bytes_done'] == 10 * 64 * MIB
    assert p1['bytes_total'] == c.GIB
    assert end['status'] == 'available', '.end is built from the final state'
    assert 0 <= end['duration'] < 5
    assert 'duration' not in start


def test_control_exchange_defaults_to_cinder(notifier, conf):
    assert conf.control_exchange == c.CONTROL_EXCHANGE


def test_context_goes_without_the_token(notifier, recorded):
    _create(notifier, cinder_objects.backup(size=1), 0)
    from oslo_messaging.notify import _impl_test

    ctxt = _impl_test.NOTIFICATIONS[0][0]
    assert ctxt['user_id'] == 'user-1'
    assert ctxt['project_id'] == 'project-1'
    assert 'SECRET-TOKEN' not in json.dumps(ctxt)


def test_progress_payload_stays_under_2_kib_with_maximal_fields(
    notifier, recorded
):
    backup = cinder_objects.backup(
        size=1,
        display_name='\U0001f4be\x00' * 127,
        service_metadata='m' * 255,
        fail_reason='f' * 255,
        service='s' * 255,
        host='h' * 255,
        container='c' * 255,
        availability_zone='a' * 255,
    )
    _create(notifier, backup, 16, chunk=64 * MIB)
    progress = recorded.of('backup.createprogress')
    assert progress
    assert max(len(json.dumps(m['payload'])) for m in progress) < 2048
    name = progress[0]['payload']['display_name']
    assert name.startswith('\U0001f4be\x00')
    assert progress[0]['payload']['fail_reason'] is None
    # Lifecycle messages keep every field whole.
    start = recorded.of('backup.create.start')[0]['payload']
    assert start['display_name'] == backup.display_name
    assert start['fail_reason'] == 'f' * 255


@pytest.mark.parametrize(
    'size_gib, measured, percent',
    [
        (2, 1280 * MIB, 50.0),  # a smaller measured file wins
        (1, 4 * c.GIB, 62.5),  # a restore onto a larger volume
        (1, None, 62.5),  # nothing measured: the backup's size
    ],
)
def test_total_is_the_smaller_of_measured_and_backup_size(
    notifier, recorded, size_gib, measured, percent
):
    backup = cinder_objects.backup(size=size_gib)
    _create(notifier, backup, 10, total_bytes=measured)
    first = recorded.of('backup.createprogress')[0]['payload']
    assert first['backup_percent'] == percent


def test_error_sends_fail_reason_and_reraises_the_same_exception(
    notifier, recorded
):
    backup = cinder_objects.backup(size=1)
    error = OSError('disk on fire ' + 'x' * 1000)
    with pytest.raises(OSError) as raised:
        with notifier.operation(None, backup, c.CREATE) as op:
            op.advance(64 * MIB)
            raise error
    assert raised.value is error
    assert raised.traceback[-1].name == (
        'test_error_sends_fail_reason_and_reraises_the_same_exception'
    )
    assert recorded.event_types() == [
        'backup.create.start',
        'backup.create.error',
    ]
    payload = recorded.of('backup.create.error')[0]['payload']
    assert payload['fail_reason'].startswith('disk on fire')
    assert len(payload['fail_reason']) == c.STRING_MAX
    assert payload['duration'] >= 0


def test_error_without_message_names_the_exception(notifier, recorded):
    with pytest.raises(KeyError):
        with notifier.operation(None, cinder_objects.backup(), c.DELETE):
            raise KeyError()
    payload = recorded.of('backup.delete.error')[0]['payload']
    assert payload['fail_reason'] == 'KeyError'


def test_delete_and_restore(notifier, recorded):
    backup = cinder_objects.backup(size=1, status='restoring')
    with notifier.operation(None, backup, c.RESTORE) as op:
        for _ in range(16):
            op.advance(64 * MIB)
    with notifier.operation(None, backup, c.DELETE) as op:
        op.advance(64 * MIB)  # deletes report no progress
    notifier.flush()
    assert recorded.event_types() == [
        'backup.restore.start',
        'backup.restoreprogress',
        'backup.restoreprogress',
        'backup.restore.end',
        'backup.delete.start',
        'backup.delete.end',
    ]
    progress = recorded.of('backup.restoreprogress')[0]['payload']
    assert progress['operation'] == c.RESTORE


def test_without_lifecycle_only_progress_and_errors(notifier, recorded):
    backup = cinder_objects.backup(size=1)
    _create(notifier, backup, 16, lifecycle=False)
    with pytest.raises(ValueError):
        with notifier.operation(None, backup, c.RESTORE, lifecycle=False):
            raise ValueError('bad chunk')
    assert recorded.event_types() == [
        'backup.createprogress',
        'backup.createprogress',
        'backup.restore.error',
    ]


@pytest.mark.parametrize('drivers', [[], ['noop']])
def test_disabled_builds_and_sends_nothing(
    conf, recorded, monkeypatch, drivers
):
    conf.set_override('driver', drivers, group='oslo_messaging_notifications')
    notifier = BackupNotifier.from_config(conf, host='h')
    assert not notifier.enabled

    def must_not_build(*args, **kwargs):
        raise AssertionError('payload built while disabled')

    monkeypatch.setattr(operation, 'build_payload', must_not_build)
    with pytest.raises(RuntimeError):
        with notifier.operation(None, cinder_objects.backup(), c.CREATE) as op:
            assert op.advance is operation._ignore
            op.advance(64 * MIB)
            raise RuntimeError('the backup itself failed')
    assert recorded.messages == []


def test_payload_failure_is_logged_and_swallowed(
    notifier, recorded, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise ValueError('cannot read backup')

    monkeypatch.setattr(operation, 'build_payload', broken)
    backup = cinder_objects.backup(size=1)
    with caplog.at_level(logging.WARNING):
        _create(notifier, backup, 16)
    warnings = [r.getMessage() for r in caplog.records]
    assert any('backup.create.start' in w and backup.id in w for w in warnings)
    assert any('backup.create.end' in w and backup.id in w for w in warnings)
    # Progress still goes out, on what could be known.
    assert recorded.event_types() == ['backup.createprogress'] * 2


def test_full_queue_drops_progress_with_one_warning_per_operation(
    conf, recorded, caplog
):
    conf.set_override(
        'max_queued_notifications', 5, group='backup_notifications'
    )
    conf.set_override('flush_timeout', 0.05, group='backup_notifications')
    conf.set_override(
        'progress_every_objects',
        1,
        group='backup_notifications',
    )
    notifier = BackupNotifier.from_config(conf, host='h')
    gate = threading.Event()
    deliver = notifier._sender._send

    def slow_broker(message):
        gate.wait()
        deliver(message)

    notifier._sender._send = slow_broker
    backup = cinder_objects.backup(size=1)
    with caplog.at_level(logging.WARNING):
        _create(notifier, backup, 16)
    gate.set()
    assert notifier._sender.flush(5)
    drops = [r for r in caplog.records if 'Dropped' in r.getMessage()]
    assert len(drops) == 1
    assert backup.id in drops[0].getMessage()
    types = recorded.event_types()
    assert types[0] == 'backup.create.start'
    assert types[-1] == 'backup.create.end'
    # 17 progress reports (16 + final) could not all fit in 5 places.
    assert types.count('backup.createprogress') < 17


def test_a_send_oslo_messaging_swallows_is_retried(
    notifier, recorded, monkeypatch
):
    """oslo.messaging logs a failing driver and returns: still noticed."""
    from oslo_messaging.notify import _impl_test

    from ceilometer_backup.emitter import delivery as sender

    monkeypatch.setattr(sender, 'RETRY_START', 0.01)
    real_notify = _impl_test.TestDriver.notify
    failures = []

    def broker_down_once(self, ctxt, message, priority, retry):
        if not failures:
            failures.append(message['event_type'])
            raise ConnectionRefusedError('broker down')
        real_notify(self, ctxt, message, priority, retry)

    monkeypatch.setattr(_impl_test.TestDriver, 'notify', broker_down_once)
    with pytest.raises(OSError):
        with notifier.operation(None, cinder_objects.backup(), c.DELETE):
            raise OSError('gone')
    assert notifier._sender.flush(5)
    assert failures == ['backup.delete.start']
    assert recorded.event_types() == [
        'backup.delete.start',
        'backup.delete.error',
    ]


def test_a_timer_thread_that_cannot_start_does_not_fail_the_backup(
    conf, recorded, monkeypatch, caplog
):
    from ceilometer_backup.emitter import progress

    conf.set_override('progress_every_seconds', 1, 'backup_notifications')
    notifier = BackupNotifier.from_config(conf, host='h')

    def cannot_start(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(progress.ProgressReporter, 'start', cannot_start)
    backup = cinder_objects.backup(size=1)
    with caplog.at_level(logging.WARNING):
        _create(notifier, backup, 16)
    assert any(
        'backup.createprogress' in r.getMessage() for r in caplog.records
    )
    assert recorded.event_types()[0] == 'backup.create.start'
    assert recorded.event_types()[-1] == 'backup.create.end'
