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
    ERROR,
    STATUS,
    *DURATION.values(),
    STORED,
    CHANGED,
)
