import io

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import ceph, family, store
from ceilometer_backup.upstream import cinder
from tests.support import cinder_objects


@pytest.fixture
def op(notifier):
    return notifier.operation(None, cinder_objects.backup(size=1), c.CREATE)


class ChunkedDriver:
    """The two methods of Cinder's chunked drivers that store counts on."""

    def __init__(self):
        self.objects = {}

    def get_object_writer(self, container, object_name, extra_metadata=None):
        writer = self.objects[object_name] = io.BytesIO()
        writer.close = lambda: None  # keep what was written readable
        return writer

    def _backup_chunk(self, backup, container, data, offset, meta, extra):
        with self.get_object_writer(container, f'chunk-{offset}') as writer:
            writer.write(data[: len(data) // 2])  # "compressed"

    def backup(self, chunks):
        for offset, data in chunks:
            self._backup_chunk(None, 'c', data, offset, {}, None)
        with self.get_object_writer('c', 'metadata') as writer:
            writer.write(b'{"objects": []}')


def test_stored_and_changed_bytes_of_a_chunked_driver(op):
    driver = ChunkedDriver()
    with store.metered(driver, op) as counts:
        driver.backup([(0, b'a' * 100), (4096, b'b' * 60)])
    stored = sum(len(w.getvalue()) for w in driver.objects.values())
    assert stored == 50 + 30 + len(b'{"objects": []}')
    assert counts.figures() == {'stored_bytes': stored, 'changed_bytes': 160}
    # The driver's own methods again, nothing counted any more.
    assert 'get_object_writer' not in vars(driver)
    assert '_backup_chunk' not in vars(driver)
    driver.backup([(0, b'c' * 10)])
    assert counts.figures()['changed_bytes'] == 160


def test_a_driver_that_cannot_tell_reports_nothing(op):
    class Other:
        def backup(self):
            pass

    with store.metered(Other(), op) as counts:
        pass
    assert counts.figures() == {}


def test_counting_stops_when_the_backup_raises(op):
    driver = ChunkedDriver()
    own = driver.get_object_writer
    driver.get_object_writer = own  # an instance attribute of its own
    with pytest.raises(OSError):
        with store.metered(driver, op):
            raise OSError('store full')
    assert vars(driver)['get_object_writer'] is own
    assert '_backup_chunk' not in vars(driver)


def test_the_drivers_own_progress_is_silenced_while_metered(op):
    sent = []

    class Chunked(ChunkedDriver):
        def _send_progress_notification(self, *args):
            sent.append('progress')

        def _send_progress_end(self, *args):
            sent.append('end')

    driver = Chunked()
    with store.metered(driver, op):
        driver._send_progress_notification(None, None, {}, 1, 2)
        driver._send_progress_end(None, None, {})
    assert sent == []
    driver._send_progress_end(None, None, {})
    assert sent == ['end'], 'the driver is itself again afterwards'


def test_nothing_replaced_with_notifications_off(conf, recorded):
    from ceilometer_backup.emitter.notification import BackupNotifier

    conf.set_override('driver', [], 'oslo_messaging_notifications')
    off = BackupNotifier.from_config(conf, host='h').operation(
        None, cinder_objects.backup(size=1), c.CREATE
    )
    driver = ChunkedDriver()
    with store.metered(driver, off) as counts:
        assert 'get_object_writer' not in vars(driver)
        driver.backup([(0, b'a' * 10)])
    assert counts.figures() == {}


@pytest.mark.parametrize('module', store.FAMILIES, ids=lambda m: m.__name__)
def test_each_family_provides_what_a_driver_family_must(module):
    assert isinstance(module, family.DriverFamily)
    # What it replaces is what cinder-backup checks of Cinder at start.
    assert module.PRIVATE
    assert set(module.PRIVATE) <= set(cinder.SYMBOLS)
    assert {s.owner for s in module.PRIVATE} == {module.DRIVER}


def test_a_module_without_hooks_is_no_driver_family():
    assert not isinstance(cinder, family.DriverFamily)


def test_what_the_hooks_are_handed_is_what_a_family_is_told(op):
    assert isinstance(op, family.Operation)
    assert issubclass(ceph.RbdTransfer, family.Transfer)
