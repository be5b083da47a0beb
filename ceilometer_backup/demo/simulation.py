"""Simulated backups for the demo: a volume of random data and zeros, a
chunked store over a temporary directory, and a full and an incremental
backup, a restore, deletes and a failed create, through the real emitter.

Only the volume and the store are simulated, so that what the demo shows
is what the emitter and the meters do with real figures: each object is
stored zlib-compressed, and the wrapper's own store counting counts what
is written.
"""

import datetime
import os
import random
import time
import uuid
import zlib

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import store

CHUNK_BYTES = 64 * 1024 * 1024
# Of each object of the simulated volume, this much is random data.
RANDOM_BYTES = 1024 * 1024
DEMO_HOST = 'demo-host@posix'


def _simulated_backup(size_gib):
    return {
        'id': str(uuid.uuid4()),
        'project_id': uuid.uuid4().hex,
        'user_id': uuid.uuid4().hex,
        'availability_zone': 'nova',
        'host': DEMO_HOST,
        'display_name': 'nightly',
        'created_at': datetime.datetime.now(datetime.timezone.utc),
        'status': 'creating',
        'volume_id': str(uuid.uuid4()),
        'size': size_gib,
        'service': 'cinder.backup.drivers.posix.PosixBackupDriver',
        'container': 'backups',
    }


class SimulatedStore:
    """A chunked backup driver over a temporary directory, with the two
    methods Cinder's chunked drivers store through: each backed-up object
    is written zlib-compressed, then the backup's metadata."""

    def __init__(self, path):
        self.path = path

    def get_object_writer(self, container, object_name, extra_metadata=None):
        return open(os.path.join(self.path, object_name), 'wb')

    def _backup_chunk(self, backup, container, data, data_offset, *args):
        name = f'{backup["id"]}-{data_offset:015d}'
        with self.get_object_writer(container, name) as writer:
            writer.write(zlib.compress(data, 1))

    def backup(self, backup, volume, parent, op, tick):
        """Back up the objects of ``volume`` (a seed each) that differ from
        ``parent``'s, or all of them; every object is read either way."""
        zeros = bytes(CHUNK_BYTES - RANDOM_BYTES)
        for index, seed in enumerate(volume):
            # Simulated content, not a secret: seeded to be reproducible.
            data = random.Random(seed).randbytes(RANDOM_BYTES) + zeros  # noqa: S311
            if parent is None or parent[index] != seed:
                self._backup_chunk(backup, None, data, index * CHUNK_BYTES)
            op.advance(len(data))
            tick()
        with self.get_object_writer(None, f'{backup["id"]}_metadata') as f:
            f.write(f'{{"objects": {len(volume)}}}'.encode())


def _create(notifier, simulated, backup, volume, parent, bar, args):
    """One create: progress, and what the store counted with its .end."""
    with notifier.operation(None, backup, c.CREATE) as op:
        with store.metered(simulated, op) as counts:

            def tick():
                time.sleep(args.seconds_per_object)
                bar.draw('create')

            simulated.backup(backup, volume, parent, op, tick)
        op.end_figures.update(counts.figures())
        backup['status'] = 'available'
        backup['object_count'] = len(volume)
    bar.finish('create')


def _transfer(op, size_gib, seconds_per_object, bar, label):
    for _ in range(size_gib * c.GIB // CHUNK_BYTES):
        time.sleep(seconds_per_object)
        op.advance(CHUNK_BYTES)
        bar.draw(label)


def simulate(notifier, args, bar, store_path):
    """A full and an incremental backup of one volume, a restore, both
    deletes, then a failed create."""
    simulated = SimulatedStore(store_path)
    volume = list(range(args.size_gib * c.GIB // CHUNK_BYTES))
    full = _simulated_backup(args.size_gib)
    _create(notifier, simulated, full, volume, None, bar, args)
    # Two objects of the volume change before the next backup.
    changed = list(volume)
    changed[1] = changed[len(changed) // 2] = -1
    incremental = dict(
        _simulated_backup(args.size_gib),
        volume_id=full['volume_id'],
        project_id=full['project_id'],
        user_id=full['user_id'],
        parent_id=full['id'],
        is_incremental=True,
    )
    _create(notifier, simulated, incremental, changed, volume, bar, args)
    incremental['status'] = 'restoring'
    with notifier.operation(None, incremental, c.RESTORE) as op:
        _transfer(op, args.size_gib, args.seconds_per_object, bar, 'restore')
        incremental['status'] = 'available'
    bar.finish('restore')
    for backup in (incremental, full):
        backup['status'] = 'deleting'
        with notifier.operation(None, backup, c.DELETE):
            backup['status'] = 'deleted'
    failing = _simulated_backup(args.size_gib)
    try:
        with notifier.operation(None, failing, c.CREATE) as op:
            op.advance(CHUNK_BYTES)
            raise OSError('simulated: backup repository is full')
    except OSError:
        pass
