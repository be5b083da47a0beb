"""Benchmark 5: what the wrapper costs the backups it meters.

In the real services, where eventlet, tpool and the background sender
run: Keystone, cinder-api, -scheduler, -volume and cinder-backup over
RabbitMQ (testcloud.stack), cinder-backup restarted before each
operation either as doc/source/install/cinder.md configures it (metered)
or with the same POSIX driver and Cinder's own notifications alone
(plain), alternately. Each round backs up a volume of random regions
between zero ones (Cinder's default zlib compression) and restores it
onto a second volume.

With ``--ceph``, the same on the single-node Ceph of testcloud.ceph:
RBD volumes (cinder-volume on RBDDriver) backed up by CephBackupDriver,
``rbd export-diff | rbd import-diff`` both ways (the restore target is
emptied before each restore so that Cinder takes its differential path),
metered with the progress timer at 1 s, its busiest.

Wall: cinder-backup's own span of the operation, from its "started" log
line to its "finished" one (a poll of the API could not resolve 1 %).
CPU: user + system seconds of cinder-backup and its children from before
the request until the operation's notifications have been sent. The best
and the median of the rounds, each configuration.
"""

import argparse
import contextlib
import datetime
import os
import statistics
import sys
import tempfile
import time

from benchmarks.common import REGION, describe_machine, regions
from testcloud import servers
from testcloud.ceph import Ceph
from testcloud.cinder import wait_gone, wait_status
from testcloud.ground import MIB
from testcloud.stack import Stack

GIB = 1024 * MIB
# Where Ceilometer's notification agent would read them.
NOTIFICATIONS = 'notifications.info'
# Cinder's log lines at the start and end of each operation.
SPANS = {
    'backup': (
        'Create backup started, backup: {}',
        'Create backup finished. backup: {}.',
    ),
    'restore': (
        'Restore backup started, backup: {}',
        'Finished restoring backup {} to volume',
    ),
}


def _fill(stack, volume_id, size, random_share):
    if stack.ceph is None:
        with open(stack.cinder.volume_path(volume_id), 'r+b') as f:
            for offset in regions(size, random_share):
                os.pwrite(f.fileno(), os.urandom(REGION), offset)
        return
    with stack.ceph.image('volumes', f'volume-{volume_id}') as image:
        for offset in regions(size, random_share):
            image.write(os.urandom(REGION), offset)


def _empty(stack, volume_id):
    """An RBD restore target with no extents: Cinder restores onto it
    with import-diff."""
    if stack.ceph is not None:
        with stack.ceph.image('volumes', f'volume-{volume_id}') as image:
            # librbd takes less than 2 GiB a call.
            for offset in range(0, image.size(), GIB):
                image.discard(offset, GIB)


def _span(log, operation, backup_id):
    """Seconds between cinder-backup's log lines at the start and the
    end of ``operation`` on ``backup_id``."""
    start, end = (line.format(backup_id) for line in SPANS[operation])
    stamps = {}
    with open(log) as f:
        for line in f:
            for name, text in (('start', start), ('end', end)):
                if text in line:
                    stamps[name] = datetime.datetime.strptime(
                        line[:23], '%Y-%m-%d %H:%M:%S.%f'
                    )
    return (stamps['end'] - stamps['start']).total_seconds()


class Round:
    def __init__(self, stack, source, target):
        self.stack = stack
        self.cinder = stack.cinder
        self.client = stack.cinder_client('demo')
        self.source = source
        self.target = target

    def cpu(self):
        return servers.tree_cpu_seconds(
            self.cinder.processes['cinder-backup'].pid
        )

    def done(self, operation, backup_id, cpu, *waits):
        """(wall s, CPU s) of an operation requested when cinder-backup
        had used ``cpu`` seconds, once each of ``waits`` (volume or
        backup getters) is available."""
        for get in waits:
            wait_status(get, 'available', timeout=900)
        time.sleep(2)  # the background sender's notifications
        cpu = self.cpu() - cpu
        wall = _span(self.cinder.log_of('cinder-backup'), operation, backup_id)
        return wall, cpu

    def _settled(self):
        """The queue's size once the background sender has sent what it
        had: unchanged over two seconds."""
        size = self.stack.rabbitmq.queue_size(NOTIFICATIONS)
        while True:
            time.sleep(2)
            now = self.stack.rabbitmq.queue_size(NOTIFICATIONS)
            if now == size:
                return now
            size = now

    def run(self, metered):
        """((wall, CPU) of the backup, (wall, CPU) of the restore,
        (messages, bytes) the backup, the restore and the deletion put on
        the bus)."""
        self.cinder.restart_backup(kill=False, metered=metered)
        # Nothing consumes them here: the queue keeps every notification.
        before = self.stack.rabbitmq.queue_size(NOTIFICATIONS)
        backups, volumes = self.client.backups, self.client.volumes
        cpu = self.cpu()
        backup = backups.create(self.source.id)
        backed_up = self.done(
            'backup', backup.id, cpu, lambda: backups.get(backup.id)
        )
        _empty(self.stack, self.target.id)
        cpu = self.cpu()
        self.client.restores.restore(backup.id, self.target.id)
        restored = self.done(
            'restore',
            backup.id,
            cpu,
            lambda: volumes.get(self.target.id),
            lambda: backups.get(backup.id),
        )
        backups.delete(backup.id)
        wait_gone(lambda: backups.get(backup.id), timeout=300)
        after = self._settled()
        bus = (after[0] - before[0], after[1] - before[1])
        return backed_up, restored, bus


def _added(figures, index):
    """What metering added to plain's figure, in %."""
    return f'{100 * (figures[True][index] / figures[False][index] - 1):+.1f} %'


def main(size_gib, random_share, rounds, ceph):
    store = 'Ceph (RBD volumes)' if ceph else 'POSIX, zlib'
    print(f'# Cost to a backup, real cinder-backup ({describe_machine()})')
    print(
        f'{store}: {size_gib} GiB volume, {random_share:.0%} random in '
        f'{REGION // MIB} MiB regions; {rounds} rounds, interleaved'
    )
    workdir = tempfile.mkdtemp(prefix='bench-backup-')
    with contextlib.ExitStack() as started:
        cluster = (
            started.enter_context(Ceph(os.path.join(workdir, 'ceph')))
            if ceph
            else None
        )
        stack = started.enter_context(
            Stack(os.path.join(workdir, 'stack'), ceph=cluster)
        )
        client = stack.cinder_client('demo')
        volumes = [client.volumes.create(size_gib) for _ in range(2)]
        source, target = [
            wait_status(lambda v=v: client.volumes.get(v.id), 'available')
            for v in volumes
        ]
        _fill(stack, source.id, size_gib * GIB, random_share)
        measured = Round(stack, source, target)
        results = {True: [], False: []}
        for n in range(rounds):
            # Plain first in even rounds, metered first in odd ones: what
            # the first of a pair pays (a cold cache) falls on both.
            for metered in (False, True) if n % 2 == 0 else (True, False):
                results[metered].append(measured.run(metered))
        print(
            'operation | plain: wall s, CPU s | metered: wall s, CPU s | '
            'added wall, added CPU (best; median)'
        )
        for n, operation in enumerate(('backup', 'restore')):
            best, median = (
                {
                    metered: [
                        pick(r[n][i] for r in results[metered]) for i in (0, 1)
                    ]
                    for metered in (False, True)
                }
                for pick in (min, statistics.median)
            )
            plain, metered = best[False], best[True]
            print(
                f'{operation:9} | {plain[0]:6.2f} s {plain[1]:6.2f} s | '
                f'{metered[0]:6.2f} s {metered[1]:6.2f} s | '
                + ', '.join(
                    f'{_added(best, i)}; {_added(median, i)}' for i in (0, 1)
                )
            )
        bus = {
            metered: [sum(r[2][i] for r in results[metered]) / rounds
                      for i in (0, 1)]
            for metered in (False, True)
        }  # fmt: skip
        print(
            'on the bus per backup, restore and deletion (notifications.info, '
            'RabbitMQ message_bytes): '
            + ' | '.join(
                f'{name} {bus[m][0]:.1f} messages, {bus[m][1]:,.0f} B, '
                f'{bus[m][1] / max(bus[m][0], 1):,.0f} B each'
                for name, m in (('plain', False), ('metered', True))
            )
            + f' | metered/plain bytes '
            f'{bus[True][1] / max(bus[False][1], 1):.2f}x'
        )
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size-gib', type=int, default=3)
    parser.add_argument('--random-share', type=float, default=0.25)
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument(
        '--ceph', action='store_true', help='RBD volumes backed up to Ceph'
    )
    arguments = parser.parse_args()
    sys.exit(
        main(
            arguments.size_gib,
            arguments.random_share,
            arguments.rounds,
            arguments.ceph,
        )
    )
