"""What cinder-backup's manager checks of Cinder when it starts.

A release of Cinder without one of the private methods the metering
relies on is made by deleting that method from Cinder's real classes.
"""

import logging

import pytest
from cinder import version
from cinder.backup.drivers import ceph as ceph_driver
from cinder.backup.drivers import posix

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import ceph, chunked, manager, store
from ceilometer_backup.upstream import cinder
from tests.support import cinder_objects

POSIX = posix.PosixBackupDriver
CEPH = ceph_driver.CephBackupDriver
# (driver configured, Cinder's method): each one relied on.
SYMBOLS = [
    (CEPH if symbol.owner == cinder.CEPH_DRIVER else POSIX, symbol)
    for symbol in cinder.SYMBOLS
]


def _delete(monkeypatch, cls, name):
    """This Cinder, without ``name`` anywhere in ``cls``'s classes."""
    for klass in cls.__mro__:
        if name in vars(klass):
            monkeypatch.delattr(klass, name)


def _errors(caplog):
    return [
        r.getMessage() for r in caplog.records if r.name == manager.__name__
    ]


def test_this_cinder_has_every_method_relied_on(caplog):
    with caplog.at_level(logging.ERROR):
        manager.check_upstream(POSIX)
        manager.check_upstream(CEPH)
    assert _errors(caplog) == []


@pytest.mark.parametrize('driver_class, symbol', SYMBOLS, ids=str)
def test_a_missing_private_method_is_named_once_at_start(
    monkeypatch, caplog, driver_class, symbol
):
    cls = (
        manager.manager.BackupManager
        if symbol.owner == cinder.MANAGER
        else driver_class
    )
    _delete(monkeypatch, cls, symbol.name)
    with caplog.at_level(logging.ERROR):
        manager.check_upstream(driver_class)
    (error,) = _errors(caplog)
    release = version.version_info.version_string()
    assert error == (
        f'Cinder {release} has no {symbol.owner}.{symbol.name}: '
        f'{symbol.feature}'
    )


@pytest.mark.parametrize(
    'driver_class, name',
    [(POSIX, s.name) for s in chunked.PRIVATE]
    + [(CEPH, s.name) for s in ceph.PRIVATE],
)
def test_without_it_the_driver_runs_as_cinders_own(
    monkeypatch, notifier, driver_class, name
):
    _delete(monkeypatch, driver_class, name)
    driver = object.__new__(driver_class)
    op = notifier.operation(None, cinder_objects.backup(size=1), c.CREATE)
    with store.metered(driver, op) as counts:
        replaced = set(vars(driver))
    assert name not in replaced
    if driver_class is POSIX:
        # One of the two gone: neither is counted, no figure is sent.
        assert not replaced & {s.name for s in chunked.PRIVATE}
        assert counts.figures() == {}
    assert not hasattr(driver, name)


def test_a_driver_not_of_cinders_families_is_not_checked(caplog):
    class ThirdParty:
        """Without any of the methods, and none expected of it."""

    with caplog.at_level(logging.ERROR):
        manager.check_upstream(ThirdParty)
    assert _errors(caplog) == []
