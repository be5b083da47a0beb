"""The meters of this plugin: name, type and unit of each.

The ``backup`` endpoint, the pollsters and the Gnocchi mapping that
``ceilometer-backup upgrade`` writes all read them here.
"""

import collections

from ceilometer import sample

from ceilometer_backup import contract as c

Meter = collections.namedtuple('Meter', ('name', 'type', 'unit'))

SIZE = Meter('backup.size', sample.TYPE_GAUGE, 'GiB')
EXISTENCE = Meter('backup', sample.TYPE_GAUGE, 'backup')
PROGRESS = Meter('backup.progress', sample.TYPE_GAUGE, '%')
IDLE = Meter('backup.idle', sample.TYPE_GAUGE, 's')
ERROR = Meter('backup.error', sample.TYPE_DELTA, 'backup')
# Polled only: the status as a number (see meter/pollster.py).
STATUS = Meter('backup.status', sample.TYPE_GAUGE, 'status')
DURATION = {
    op: Meter(f'backup.{op}.duration', sample.TYPE_GAUGE, 's')
    for op in c.OPERATIONS
}
# What a backup holds in the backup store, and the volume bytes it
# carries: counted by the Cinder side's wrapper, sent with create's .end.
STORED = Meter('backup.stored.size', sample.TYPE_GAUGE, 'B')
CHANGED = Meter('backup.changed.size', sample.TYPE_GAUGE, 'B')
METERS = (
    SIZE,
    EXISTENCE,
    PROGRESS,
    IDLE,
    ERROR,
    STATUS,
    *DURATION.values(),
    STORED,
    CHANGED,
)
# A host's, not a backup's: what the backup-gnocchi:// publisher of the
# notification agent there keeps for Gnocchi (meter/spool_pollster.py).
# For monitoring only: Gnocchi is what it waits for.
SPOOL = Meter('backup_spool.size', sample.TYPE_GAUGE, 'B')
# Every meter, for the reference.
REFERENCE = (*METERS, SPOOL)

# What each meter measures, for the meters reference that the docs build
# from this module (doc/source/_ext/meters.py): kept next to the meters so
# that a meter cannot be added without one (tests/unit/test_docs.py).
DESCRIPTIONS = {
    SIZE.name: "The backup's size as Cinder records it (the whole volume's, "
    'even for an incremental backup). From backup.exists, '
    'backup.{create,delete,restore}.{start,end} and '
    'backup.reset_status.end, and polled.',
    EXISTENCE.name: '1 while the backup exists. From the same events as '
    'backup.size, and polled.',
    PROGRESS.name: 'Percentage done of a running create or restore, '
    'clamped to 0..100. From backup.createprogress and '
    'backup.restoreprogress.',
    IDLE.name: 'Seconds a running create or restore has moved no data, '
    'at each progress report while it is stalled, then 0 at the first '
    'report after it moves again: what a stalled-backup alarm watches. '
    'From the progress notifications carrying idle_seconds (the '
    "wrapper's), and polled for a create or restore whose cinder-backup "
    'host Cinder counts as down: seconds since that host last reported '
    '(sample metadata host names it).',
    ERROR.name: 'One per failed create, restore or delete. From '
    'backup.{create,delete,restore}.error.',
    STATUS.name: "Polled only: the backup's status as a number (available "
    '0, creating 1, restoring 2, deleting 3, error 4, other -1).',
    **{
        meter.name: f'Seconds the driver took to {op} the backup. From '
        f'backup.{op}.end carrying a duration.'
        for op, meter in DURATION.items()
    },
    STORED.name: 'Bytes the backup holds in the backup store (after '
    'compression; for an incremental backup only its own objects). From '
    "backup.create.end carrying stored_bytes, then polled: the create's "
    "figure, kept on the backup's Gnocchi resource, every cycle while the "
    'backup exists and is not in error.',
    CHANGED.name: 'Volume bytes the backup carries, before compression: '
    'the whole volume for a full backup, the changed extents for an '
    'incremental one. From backup.create.end carrying changed_bytes.',
    SPOOL.name: 'Bytes of backup samples the notification agent of a host '
    'keeps in its spool ([backup_gnocchi] spool_dir) for Gnocchi to take; '
    'resource: the host. Polled by the central agent on that host, for '
    'its Prometheus exporter: not sent to Gnocchi.',
}
