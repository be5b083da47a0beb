"""``ceilometer-backup demo``: simulated backups metered end to end.

A full backup of a volume and an incremental one (with progress), a
restore, deletes and a failed create go through the real emitter, a real
oslo.messaging transport (by default the in-process ``fake://`` one, so
no server is needed), a real batch notification listener on the
``cinder`` exchange, and the ``backup`` endpoint loaded through its entry
point as ceilometer-agent-notification loads it, publishing through
Ceilometer's real sample pipeline. The samples that come out are printed
as a table, then the two backups' sizes side by side: the volume's GiB
Cinder bills, the volume bytes each carries, and the bytes each stores.
Only the volume and the store are simulated: each object of the volume is
1 MiB of random data and zeros, stored zlib-compressed in a temporary
directory, and the wrapper's own store counting counts what is written.
"""

import datetime
import os
import random
import sys
import tempfile
import time
import uuid
import zlib

from ceilometer import service as ceilometer_service

from ceilometer_backup import contract as c
from ceilometer_backup.cmd.agent import InProcessAgent, pipeline_yaml
from ceilometer_backup.emitter import store
from ceilometer_backup.emitter.notification import (
    BackupNotifier,
    standalone_conf,
)
from ceilometer_backup.meter import meters

CHUNK_BYTES = 64 * 1024 * 1024
# Of each object of the simulated volume, this much is random data.
RANDOM_BYTES = 1024 * 1024
DEMO_HOST = 'demo-host@posix'


def add_arguments(parser):
    parser.add_argument(
        '--transport-url',
        default='fake://',
        help='oslo.messaging transport to send over (default: in-process, '
        'no server). For example rabbit://guest:guest@127.0.0.1:5672/',
    )
    parser.add_argument(
        '--size-gib', type=int, default=2, help='Simulated volume size.'
    )
    parser.add_argument(
        '--objects-per-notification',
        type=int,
        default=4,
        help='Progress notification every this many 64 MiB objects.',
    )
    parser.add_argument(
        '--seconds-per-object',
        type=float,
        default=0.02,
        help='Simulated transfer time of one object.',
    )


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


class ProgressBar:
    """Draws the latest ``backup.progress`` sample the agent published."""

    def __init__(self, agent, out):
        self.agent = agent
        self.out = out
        self.enabled = out.isatty()

    def _latest(self, operation):
        for sample in reversed(self.agent.published):
            if (
                sample.name == meters.PROGRESS.name
                and sample.resource_metadata.get('operation') == operation
            ):
                return sample.volume
        return 0.0

    def draw(self, label):
        """Draw the latest percentage of operation ``label``."""
        if not self.enabled:
            return
        percent = self._latest(label)
        filled = int(percent // 5)
        self.out.write(
            f'\r{label:<8} [{"#" * filled}{"." * (20 - filled)}] '
            f'{percent:5.1f} %  (backup.progress samples)'
        )
        self.out.flush()

    def finish(self, label, limit=2.0):
        """Draw until the operation's 100 % sample is in, then end the line."""
        deadline = time.monotonic() + limit
        while self.enabled and time.monotonic() < deadline:
            self.draw(label)
            if self._latest(label) >= 100.0:
                break
            time.sleep(0.05)
        if self.enabled:
            self.out.write('\n')


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


def _detail(sample):
    meta = sample.resource_metadata
    keys = ('operation', 'status', 'fail_reason', 'display_name')
    return ' '.join(f'{k}={meta[k]}' for k in keys if meta.get(k) is not None)


def print_table(samples, out):
    rows = [('meter', 'type', 'unit', 'volume', 'resource', 'metadata')]
    for s in samples:
        rows.append(
            (
                s.name,
                s.type,
                s.unit,
                f'{s.volume:g}',
                s.resource_id[:8],
                f'{s.resource_metadata.get("event_type")} {_detail(s)}',
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(5)]
        print('  '.join(cells + [row[5]]), file=out)


def print_sizes(samples, out):
    """The created backups' sizes side by side, from their samples."""
    sizes = {}
    for s in samples:
        if s.resource_metadata.get('event_type') == 'backup.create.end':
            sizes.setdefault(s.resource_id, {})[s.name] = s
    rows = [('backup', 'kind', 'volume GiB', 'changed bytes', 'stored bytes')]
    for resource_id, meters_of in sizes.items():
        if meters.STORED.name not in meters_of:
            continue
        incremental = meters_of[meters.SIZE.name].resource_metadata.get(
            'is_incremental'
        )
        rows.append(
            (
                resource_id[:8],
                'incremental' if incremental else 'full',
                f'{meters_of[meters.SIZE.name].volume:g}',
                f'{meters_of[meters.CHANGED.name].volume:,.0f}',
                f'{meters_of[meters.STORED.name].volume:,.0f}',
            )
        )
    print('\nWhat each backup of the volume is billed on:', file=out)
    for row in rows:
        print(
            f'{row[0]:<10}{row[1]:<13}{row[2]:>11}{row[3]:>16}{row[4]:>15}',
            file=out,
        )


def run(args, out=None):
    out = out or sys.stdout
    # The Cinder side, as a cinder-backup service would configure it.
    notifier = BackupNotifier.from_config(
        standalone_conf(
            args.transport_url,
            progress_every_objects=args.objects_per_notification,
        ),
        host=DEMO_HOST,
    )
    with tempfile.TemporaryDirectory() as tmp:
        pipeline_file = os.path.join(tmp, 'pipeline.yaml')
        with open(pipeline_file, 'w') as f:
            # Ceilometer's in-memory publisher: the samples are read there.
            f.write(pipeline_yaml(['test://']))
        conf = ceilometer_service.prepare_service([], [])
        conf.set_override('pipeline_cfg_file', pipeline_file)
        agent = InProcessAgent(conf)
        with agent.listening(args.transport_url):
            store_path = os.path.join(tmp, 'backups')
            os.mkdir(store_path)
            simulate(notifier, args, ProgressBar(agent, out), store_path)
            agent.wait_quiet()
    print_table(agent.published, out)
    print(f'{len(agent.published)} samples', file=out)
    print_sizes(agent.published, out)
    return 0
