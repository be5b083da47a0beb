"""Cinder's methods the metering overrides or replaces, checked when
cinder-backup starts with the wrapper (``MeteredBackupManager``).

Without one, nothing calls the override or replaces the method, and the
backup itself works as in stock Cinder. Its classes are named, not
imported: the Ceph driver needs rados, which the wrapper's modules do not.
"""

from ceilometer_backup.upstream import Symbol

PROJECT = 'Cinder'
MANAGER = 'cinder.backup.manager.BackupManager'
CHUNKED_DRIVER = 'cinder.backup.chunkeddriver.ChunkedBackupDriver'
CEPH_DRIVER = 'cinder.backup.drivers.ceph.CephBackupDriver'

_COUNTED = 'stored_bytes and changed_bytes are not sent'
SYMBOLS = (
    # Overridden by emitter/manager.py.
    Symbol(
        MANAGER,
        '_is_our_backup',
        'Cinder refuses to restore or delete the backups recorded under '
        "the wrapper's own name",
    ),
    Symbol(
        MANAGER,
        '_notify_about_backup_usage',
        "Cinder's .end notifications carry no duration, stored_bytes nor "
        'changed_bytes',
    ),
    Symbol(
        MANAGER,
        '_cleanup_one_backup',
        'a backup cut by a cinder-backup restart sends no .error',
    ),
    # Replaced on the driver by emitter/chunked.py.
    Symbol(CHUNKED_DRIVER, 'get_object_writer', _COUNTED),
    Symbol(CHUNKED_DRIVER, '_backup_chunk', _COUNTED),
    # Replaced on the driver by emitter/ceph.py.
    Symbol(
        CEPH_DRIVER,
        '_piped_execute',
        'backups from RBD volumes send no progress beyond 0 and 100, no '
        'stored_bytes nor changed_bytes; restores of them no progress',
    ),
    Symbol(
        CEPH_DRIVER,
        '_transfer_data',
        'full copies of other volumes send no stored_bytes nor changed_bytes',
    ),
)


def of(owner):
    """The symbols of Cinder's class ``owner``."""
    return tuple(symbol for symbol in SYMBOLS if symbol.owner == owner)
