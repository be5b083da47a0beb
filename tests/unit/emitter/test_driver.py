import io
import logging
import os
import time
import traceback
from unittest import mock

import oslo_messaging
import pytest
from cinder.common import config as cinder_config  # noqa: F401 (host, ...)
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from ceilometer_backup import opts
from ceilometer_backup.emitter import driver as driver_module
from ceilometer_backup.emitter.driver import MeteredBackupDriver
from ceilometer_backup.emitter.manager import MeteredBackupManager
from ceilometer_backup.emitter.runtime import Runtime
from tests.support import cinder_objects
from tests.support.fake_backup_driver import FakeBackupDriver

FAKE = 'tests.support.fake_backup_driver.FakeBackupDriver'
WRAPPER = 'ceilometer_backup.emitter.driver.MeteredBackupDriver'


@pytest.fixture
def cinder_conf(recorded):
    """cfg.CONF as in cinder-backup, notifications to the in-memory driver."""
    fixture = config_fixture.Config(cfg.CONF)
    fixture.setUp()
    opts.register_opts(cfg.CONF)  # as cinder-backup's manager does
    oslo_messaging.get_notification_transport(cfg.CONF, url='fake://')
    fixture.config(transport_url='fake://', host='cinder-backup-1')
    fixture.config(driver=['test'], group='oslo_messaging_notifications')
    fixture.config(
        wrapped_driver=FAKE,
        progress_every_objects=4,
        group='backup_notifications',
    )
    fixture.config(backup_manager=driver_module.MANAGER)
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def runtime(cinder_conf):
    """A cinder-backup process's, afresh."""
    return Runtime(cfg.CONF)


def _volume(tmp_path, mib=64):
    path = tmp_path / 'volume'
    path.write_bytes(os.urandom(mib * 1024 * 1024))
    return path


def _driver(runtime):
    """As the manager constructs one."""
    return MeteredBackupDriver.handed(runtime)(
        context=cinder_objects.request_context()
    )


def test_constructed_as_the_backup_manager_constructs_drivers(runtime):
    ctxt = cinder_objects.request_context()
    for wrapper in (
        MeteredBackupDriver.handed(runtime)(ctxt),
        MeteredBackupDriver.handed(runtime)(context=ctxt),
    ):
        assert wrapper._driver.context is ctxt
        assert wrapper.driver_name == FAKE


def test_every_other_method_and_attribute_is_proxied(cinder_conf, runtime):
    wrapper = _driver(runtime)
    backup = cinder_objects.backup()
    assert wrapper.support_force_delete is True
    wrapper.check_for_setup_error()
    assert wrapper.export_record(backup) == {
        'driver': 'fake',
        'backup': backup.id,
    }
    wrapper.import_record(backup, {'k': 'v'})
    assert wrapper.get_metadata('v-1') == '{"volume": "v-1"}'
    wrapper.put_metadata('v-1', '{}')
    assert [name for name, _ in wrapper._driver.calls] == [
        'check_for_setup_error',
        'export_record',
        'import_record',
        'get_metadata',
        'put_metadata',
    ]


def test_backup_and_restore_report_bytes_based_progress(
    cinder_conf, recorded, tmp_path, runtime
):
    volume = _volume(tmp_path)  # 16 objects of 4 MiB
    backup = cinder_objects.backup(size=1)
    wrapper = _driver(runtime)
    with open(volume, 'rb') as f:
        updates = wrapper.backup(backup, f, backup_metadata=True)
    assert updates == {'object_count': 16, 'service': FAKE}
    assert wrapper._driver.calls[0][1][1] is True, 'arguments pass through'
    restored = tmp_path / 'restored'
    restored.write_bytes(b'\0' * volume.stat().st_size)
    with open(restored, 'r+b') as f:
        assert _driver(runtime).restore(backup, 'vol-2', f, True) is None
    assert restored.read_bytes() == volume.read_bytes()
    wrapper.delete_backup(backup)
    process_notifier = runtime.notifier()
    process_notifier.flush()
    # Cinder's manager sends start/end itself: the wrapper does not.
    assert (
        recorded.event_types()
        == ['backup.createprogress'] * 4 + ['backup.restoreprogress'] * 4
    )
    percents = [m['payload']['backup_percent'] for m in recorded.messages]
    assert percents == [25.0, 50.0, 75.0, 100.0] * 2
    assert recorded.messages[0]['payload']['bytes_total'] == 64 * 1024**2
    assert recorded.messages[0]['publisher_id'] == 'backup.cinder-backup-1'


def test_lifecycle_option_adds_start_and_end(
    cinder_conf, recorded, tmp_path, runtime
):
    cinder_conf.config(
        send_lifecycle_notifications=True, group='backup_notifications'
    )
    backup = cinder_objects.backup(size=1)
    with open(_volume(tmp_path, mib=4), 'rb') as f:
        _driver(runtime).backup(backup, f)
    _driver(runtime).delete_backup(backup)
    runtime.notifier().flush()
    assert recorded.event_types() == [
        'backup.create.start',
        'backup.createprogress',
        'backup.create.end',
        'backup.delete.start',
        'backup.delete.end',
    ]


@pytest.mark.parametrize('method', ['backup', 'restore', 'delete_backup'])
def test_driver_error_is_notified_and_reraised_unchanged(
    cinder_conf, recorded, tmp_path, method, runtime
):
    wrapper = _driver(runtime)
    error = OSError(28, 'No space left on device')
    wrapper._driver.fail_with = error
    backup = cinder_objects.backup(size=1)
    args = {
        'backup': (backup, open(_volume(tmp_path, mib=1), 'rb')),
        'restore': (backup, 'vol-2', open(os.devnull, 'wb'), True),
        'delete_backup': (backup,),
    }[method]
    with pytest.raises(OSError) as raised:
        getattr(wrapper, method)(*args)
    assert raised.value is error
    frames = [f.name for f in traceback.extract_tb(raised.value.__traceback__)]
    assert frames[-1] == '_call', 'the inner driver frame is kept'
    runtime.notifier().flush()
    operation = {'backup': 'create', 'restore': 'restore'}.get(
        method, 'delete'
    )
    (message,) = recorded.messages
    assert message['event_type'] == f'backup.{operation}.error'
    assert (
        message['payload']['fail_reason']
        == '[Errno 28] No space left on device'
    )
    assert message['payload']['backup_id'] == backup.id


def test_disabled_notifications_hand_the_driver_the_very_file(
    cinder_conf, recorded, tmp_path, monkeypatch, runtime
):
    cinder_conf.config(driver=['noop'], group='oslo_messaging_notifications')
    seen = []
    wrapper = _driver(runtime)
    monkeypatch.setattr(
        wrapper._driver, 'backup', lambda b, f, **kw: seen.append(f)
    )
    with open(_volume(tmp_path, mib=1), 'rb') as f:
        wrapper.backup(cinder_objects.backup(), f)
    assert seen == [f]
    assert recorded.messages == []


def _manager(manager_class, backup_driver, runtime):
    """As constructed with ``backup_driver``: what its __init__ sets of
    the driver, and no more."""
    manager = object.__new__(manager_class)
    manager.driver_name = backup_driver
    manager.service = driver_module.importutils.import_class(backup_driver)
    if manager_class is MeteredBackupManager:
        manager.runtime = runtime
        if backup_driver == WRAPPER:
            manager.driver_name = FAKE  # the wrapped driver, from cinder_conf
            manager.service = manager.service.handed(runtime)
    return manager


def test_stock_manager_refuses_backups_of_the_wrapped_driver(
    cinder_conf, runtime
):
    """Why MeteredBackupManager exists: Cinder's own name check."""
    stock = _manager(MeteredBackupManager.__bases__[0], WRAPPER, runtime)
    assert not stock._is_our_backup(FAKE)
    assert stock._is_our_backup(WRAPPER)


def test_metered_manager_owns_backups_of_wrapper_and_wrapped(
    cinder_conf, runtime
):
    metered = _manager(MeteredBackupManager, WRAPPER, runtime)
    assert metered._is_our_backup(FAKE)
    assert metered._is_our_backup(cinder_objects.backup(service=FAKE))
    assert metered._is_our_backup(WRAPPER)
    assert metered._is_our_backup('')
    assert not metered._is_our_backup(
        'cinder.backup.drivers.swift.SwiftBackupDriver'
    )


def test_metered_manager_without_the_wrapper_is_cinders(cinder_conf, runtime):
    plain = _manager(MeteredBackupManager, FAKE, runtime)
    assert plain._is_our_backup(FAKE)
    assert not plain._is_our_backup(WRAPPER)


def test_warns_once_when_the_manager_is_not_set(
    cinder_conf, caplog, monkeypatch
):
    cinder_conf.config(backup_manager='cinder.backup.manager.BackupManager')
    # A stock manager hands its drivers nothing: they share the process's.
    process = Runtime(cfg.CONF)
    monkeypatch.setattr(driver_module.runtime, 'of_process', lambda: process)
    with caplog.at_level(logging.WARNING):
        first = MeteredBackupDriver(cinder_objects.request_context())
        MeteredBackupDriver(cinder_objects.request_context())
    assert first._runtime is process
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert 'backup_manager' in warnings[0] and FAKE in warnings[0]


@pytest.fixture
def cinder_notified(monkeypatch):
    """What Cinder's manager hands its own notifier: (event, extra)."""
    from cinder.volume import volume_utils

    sent = []

    def notify(context, backup, event_suffix, extra_usage_info=None, **kw):
        sent.append((event_suffix, extra_usage_info or {}))

    monkeypatch.setattr(volume_utils, 'notify_about_backup_usage', notify)
    return sent


def test_cinders_end_carries_the_measured_duration(
    cinder_conf, cinder_notified, tmp_path, runtime
):
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    manager.host = 'cinder-backup-1'
    ctxt = cinder_objects.request_context()
    backup = cinder_objects.backup(size=1, service=WRAPPER)
    volume = _volume(tmp_path, mib=4)

    def create():
        with open(volume, 'rb') as f:
            _driver(runtime).backup(backup, f)

    def restore():
        with open(volume, 'r+b') as f:
            _driver(runtime).restore(backup, 'vol-2', f, True)

    calls = {
        'create': create,
        'restore': restore,
        'delete': lambda: _driver(runtime).delete_backup(backup),
    }
    elapsed = {}
    for operation, call in calls.items():
        manager._notify_about_backup_usage(ctxt, backup, f'{operation}.start')
        started = time.monotonic()
        call()
        elapsed[operation] = time.monotonic() - started
        manager._notify_about_backup_usage(ctxt, backup, f'{operation}.end')
    events = [event for event, _ in cinder_notified]
    assert events == [
        f'{op}.{phase}'
        for op in ('create', 'restore', 'delete')
        for phase in ('start', 'end')
    ]
    for event, extra in cinder_notified:
        # Recorded under the wrapper at first: named after the real driver.
        assert extra['service'] == FAKE, event
        if event.endswith('.end'):
            duration = extra['duration']
            # Rounded to the millisecond.
            assert 0 <= duration <= elapsed[event[: -len('.end')]] + 1e-3, (
                event
            )
        else:
            assert 'duration' not in extra, event
    # Taken once: a second .end (there is none in Cinder) has no figures.
    manager._notify_about_backup_usage(ctxt, backup, 'create.end')
    assert 'duration' not in cinder_notified[-1][1]


def test_a_failed_operation_leaves_nothing_for_cinders_end(
    cinder_conf, cinder_notified, runtime
):
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    manager.host = 'h'
    backup = cinder_objects.backup()
    wrapper = _driver(runtime)
    wrapper._driver.fail_with = OSError('gone')
    with pytest.raises(OSError):
        wrapper.delete_backup(backup)
    manager._notify_about_backup_usage(None, backup, 'delete.end')
    assert 'duration' not in cinder_notified[0][1]


def test_without_the_wrapper_the_manager_adds_nothing(
    cinder_notified, runtime
):
    plain = _manager(MeteredBackupManager, FAKE, runtime)
    plain.host = 'h'
    plain._notify_about_backup_usage(None, cinder_objects.backup(), 'x.end')
    assert cinder_notified == [('x.end', {})]


def test_measured_figures_are_bounded(monkeypatch, runtime):
    from ceilometer_backup.emitter import measured

    monkeypatch.setattr(measured, 'KEPT', 3)
    for n in range(5):
        runtime.measured.remember(f'b{n}', 'create', duration=n)
    assert runtime.measured.take('b0', 'create') == {}
    assert runtime.measured.take('b4', 'create') == {'duration': 4}
    assert runtime.measured.take('b4', 'create') == {}


@pytest.mark.parametrize(
    'status, event, reason',
    [
        (
            'creating',
            'backup.create.error',
            'incomplete backup reset on manager restart',
        ),
        (
            'restoring',
            'backup.restore.error',
            'restore interrupted: cinder-backup stopped during it',
        ),
    ],
)
def test_a_backup_reset_on_restart_gets_the_error_it_never_sent(
    cinder_conf, recorded, monkeypatch, status, event, reason, runtime
):
    """Cinder's own reset (status, fail_reason) is simulated: its real one
    needs the database; tests/functional runs it in a real cinder-backup."""

    def cinders_reset(self, ctxt, backup):
        if backup.status == 'creating':
            backup.status, backup.fail_reason = 'error', reason
        else:
            backup.status = 'available'

    monkeypatch.setattr(
        MeteredBackupManager.__bases__[0], '_cleanup_one_backup', cinders_reset
    )
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    backup = cinder_objects.backup(status=status, service=WRAPPER)
    manager._cleanup_one_backup(None, backup)
    runtime.notifier().flush()
    (message,) = recorded.messages
    assert message['event_type'] == event
    assert message['payload']['fail_reason'] == reason
    assert message['payload']['service'] == FAKE
    assert 'duration' not in message['payload']


def test_a_backup_cinder_leaves_alone_on_restart_sends_nothing(
    cinder_conf, recorded, monkeypatch, runtime
):
    monkeypatch.setattr(
        MeteredBackupManager.__bases__[0],
        '_cleanup_one_backup',
        lambda self, ctxt, backup: None,
    )
    _manager(MeteredBackupManager, WRAPPER, runtime)._cleanup_one_backup(
        None, cinder_objects.backup(status='available')
    )
    runtime.notifier().flush()
    assert recorded.messages == []


@pytest.mark.parametrize(
    'method, args, operation',
    [
        ('create_backup', (), 'create'),
        ('continue_backup', (None,), 'create'),
        ('restore_backup', ('vol-2', True), 'restore'),
        ('delete_backup', (), 'delete'),
    ],
)
def test_a_failure_around_the_driver_is_told_once(
    cinder_conf, recorded, monkeypatch, method, args, operation, runtime
):
    """Cinder's own failure handling is simulated (an attach that fails,
    fail_reason recorded as Cinder does but for restores); the real one
    runs in tests/functional/test_ceph_stack.py."""
    error = OSError('Unable to attach volume: no keyring')

    def cinders(self, ctxt, backup, *args):
        if operation != 'restore':
            backup.fail_reason = str(error)
        raise error

    monkeypatch.setattr(MeteredBackupManager.__bases__[0], method, cinders)
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    backup = cinder_objects.backup(service=WRAPPER, fail_reason='an old one')
    with pytest.raises(OSError) as raised:
        getattr(manager, method)(None, backup, *args)
    assert raised.value is error
    runtime.notifier().flush()
    (message,) = recorded.messages
    assert message['event_type'] == f'backup.{operation}.error'
    assert message['payload']['fail_reason'] == str(error)
    assert message['payload']['service'] == FAKE


def test_a_driver_failure_is_told_by_the_wrapper_alone(
    cinder_conf, recorded, monkeypatch, runtime
):
    wrapper = _driver(runtime)
    wrapper._driver.fail_with = OSError('store full')

    def cinders(self, ctxt, backup):
        wrapper.delete_backup(backup)

    monkeypatch.setattr(
        MeteredBackupManager.__bases__[0], 'delete_backup', cinders
    )
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    backup = cinder_objects.backup(service=WRAPPER)
    with pytest.raises(OSError):
        manager.delete_backup(None, backup)
    runtime.notifier().flush()
    assert recorded.event_types() == ['backup.delete.error']
    # Told once: a later failure of the same operation is told again.
    with pytest.raises(OSError):
        manager.delete_backup(None, backup)
    runtime.notifier().flush()
    assert recorded.event_types() == ['backup.delete.error'] * 2


def test_without_the_wrapper_the_manager_tells_no_failure(
    cinder_conf, recorded, monkeypatch, runtime
):
    def cinders(self, ctxt, backup):
        raise OSError('x')

    monkeypatch.setattr(
        MeteredBackupManager.__bases__[0], 'create_backup', cinders
    )
    with pytest.raises(OSError):
        _manager(MeteredBackupManager, FAKE, runtime).create_backup(
            None, cinder_objects.backup()
        )
    runtime.notifier().flush()
    assert recorded.messages == []


def test_a_driver_failure_cinder_swallows_does_not_silence_the_next(
    cinder_conf, recorded, monkeypatch, runtime
):
    """Cinder catches BackupRestoreCancel from the driver and ends the
    restore itself: the next restore, failing outside the driver, still
    gets its .error."""
    wrapper = _driver(runtime)
    wrapper._driver.fail_with = OSError('cancelled')
    calls = []

    def cinders(self, ctxt, backup, volume_id, volume_is_new):
        calls.append(volume_id)
        if len(calls) == 1:
            try:
                with open(os.devnull, 'wb') as target:
                    wrapper.restore(backup, volume_id, target, True)
            except OSError:
                return  # as Cinder does with a cancel
        raise OSError('target not attachable')

    monkeypatch.setattr(
        MeteredBackupManager.__bases__[0], 'restore_backup', cinders
    )
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    backup = cinder_objects.backup(service=WRAPPER)
    manager.restore_backup(None, backup, 'vol-2', True)
    with pytest.raises(OSError, match='attachable'):
        manager.restore_backup(None, backup, 'vol-3', True)
    runtime.notifier().flush()
    reasons = [
        m['payload']['fail_reason']
        for m in recorded.of('backup.restore.error')
    ]
    assert reasons == ['cancelled', 'target not attachable']


# Objects of types the plugin does not expect, as Cinder's own unit tests
# hand its manager and driver (tests/cinder_unit runs those): Cinder's
# behaviour goes on unchanged, and a WARNING says what was not metered.


def _warnings(caplog):
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
        and r.name.startswith('ceilometer_backup')
    ]


def test_a_driver_that_is_not_a_class_leaves_the_manager_cinders(
    cinder_conf, recorded, cinder_notified, monkeypatch, caplog, runtime
):
    error = OSError('Unable to attach volume')

    def cinders(self, ctxt, backup):
        raise error

    monkeypatch.setattr(
        MeteredBackupManager.__bases__[0], 'create_backup', cinders
    )
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    manager.host = 'h'
    # Cinder's tests: a function that returns a driver double.
    manager.service = lambda context: mock.MagicMock()
    backup = cinder_objects.backup(service=WRAPPER)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(OSError) as raised:
            manager.create_backup(None, backup)
        manager._notify_about_backup_usage(None, backup, 'create.end')
    assert raised.value is error
    assert cinder_notified == [('create.end', {})], "Cinder's own payload"
    runtime.notifier().flush()
    assert recorded.messages == []
    # Asked at each step of the operation, told once in the process.
    (warning,) = _warnings(caplog)
    assert 'not a class' in warning


def test_a_recorded_service_that_is_not_text_passes_as_recorded(
    cinder_conf, recorded, cinder_notified, tmp_path, caplog, runtime
):
    # Cinder's tests: a MagicMock backup, its service a MagicMock too.
    backup = mock.MagicMock(id='backup-1', size=1)
    manager = _manager(MeteredBackupManager, WRAPPER, runtime)
    manager.host = 'h'
    with caplog.at_level(logging.WARNING):
        manager._notify_about_backup_usage(None, backup, 'create.start')
        with open(_volume(tmp_path, mib=4), 'rb') as f:
            updates = _driver(runtime).backup(backup, f)
        assert _driver(runtime).delete_backup(backup) is None
    ((event, extra),) = cinder_notified
    assert event == 'create.start'
    assert extra['service'] is backup.service, 'as Cinder would send it'
    assert updates == {'object_count': 1, 'service': FAKE}
    warnings = _warnings(caplog)
    assert len(warnings) == 3
    assert all('backup-1' in w and 'MagicMock' in w for w in warnings)


class _PositionUntold(io.BytesIO):
    """A volume file whose tell() answers with no number, as a Mock's
    does (a MagicMock's even converts to 1 where a position is due)."""

    def tell(self):
        return mock.MagicMock()


def test_a_volume_file_whose_tell_is_not_a_number_is_read_as_is(
    cinder_conf, recorded, caplog, runtime
):
    data = os.urandom(1024 * 1024)
    backup = cinder_objects.backup(size=1)
    with caplog.at_level(logging.WARNING):
        updates = _driver(runtime).backup(backup, _PositionUntold(data))
    assert updates == {'object_count': 1, 'service': FAKE}
    assert FakeBackupDriver.stored[backup.id] == [data], 'from byte 0'
    (warning,) = _warnings(caplog)
    assert 'MagicMock' in warning and '_PositionUntold' in warning
    runtime.notifier().flush()
    (progress,) = recorded.of('backup.createprogress')
    assert progress['payload']['bytes_total'] == 1024**3, "the backup's size"


def test_a_driver_result_that_is_not_updates_goes_to_cinder_as_it_is(
    cinder_conf, tmp_path, monkeypatch, caplog, runtime
):
    wrapper = _driver(runtime)
    # Cinder's tests: a driver double whose backup() returns a Mock.
    result = mock.Mock()
    monkeypatch.setattr(wrapper._driver, 'backup', lambda b, f: result)
    backup = cinder_objects.backup(size=1)
    with caplog.at_level(logging.WARNING):
        with open(_volume(tmp_path, mib=1), 'rb') as f:
            assert wrapper.backup(backup, f) is result
    (warning,) = _warnings(caplog)
    assert 'returned a Mock' in warning and backup.id in warning
