"""``ceilometer-backup demo``: a simulated backup metered end to end.

A backup create (with progress), a restore, a delete and a failed create
go through the real emitter, a real oslo.messaging transport (by default
the in-process ``fake://`` one, so no server is needed), a real batch
notification listener on the ``cinder`` exchange, and the ``backup``
endpoint loaded through its entry point as ceilometer-agent-notification
loads it, publishing through Ceilometer's real sample pipeline. The
samples that come out are printed as a table.
"""

import datetime
import os
import sys
import tempfile
import time
import uuid

from ceilometer import service as ceilometer_service

from ceilometer_backup import contract as c
from ceilometer_backup.cmd.agent import InProcessAgent, pipeline_yaml
from ceilometer_backup.emitter.notification import (
    BackupNotifier,
    standalone_conf,
)
from ceilometer_backup.meter import meters

CHUNK_BYTES = 64 * 1024 * 1024
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
        'created_at': datetime.datetime.now(datetime.UTC),
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


def _transfer(op, size_gib, seconds_per_object, bar, label):
    for _ in range(size_gib * c.GIB // CHUNK_BYTES):
        time.sleep(seconds_per_object)
        op.advance(CHUNK_BYTES)
        bar.draw(label)


def simulate(notifier, args, bar):
    """Create, restore and delete one backup, then fail to create another."""
    backup = _simulated_backup(args.size_gib)
    with notifier.operation(None, backup, c.CREATE) as op:
        _transfer(op, args.size_gib, args.seconds_per_object, bar, 'create')
        backup['status'] = 'available'
        backup['object_count'] = args.size_gib * c.GIB // CHUNK_BYTES
    bar.finish('create')
    backup['status'] = 'restoring'
    with notifier.operation(None, backup, c.RESTORE) as op:
        _transfer(op, args.size_gib, args.seconds_per_object, bar, 'restore')
        backup['status'] = 'available'
    bar.finish('restore')
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
            simulate(notifier, args, ProgressBar(agent, out))
            agent.wait_quiet()
    print_table(agent.published, out)
    print(f'{len(agent.published)} samples', file=out)
    return 0
