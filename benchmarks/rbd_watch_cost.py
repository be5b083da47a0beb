"""Benchmark 6: what watching an RBD transfer costs, against the transfer.

On the single-node Ceph of testcloud.ceph: Cinder's own transfer of
an RBD backup (``rbd export-diff | rbd import-diff`` of a snapshot into an
empty image, the processes Cinder's Ceph driver runs) against what the
wrapper adds to it (``emitter/ceph.py``): one ``rbd diff`` with the
export's arguments, run alongside, and the ``/proc`` reads of each
progress report. CPU of the child processes from getrusage; the transfer
and the diff timed apart, each round.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from benchmarks.common import REGION, describe_machine, regions
from ceilometer_backup.emitter import ceph as watched
from testcloud.ceph import Ceph
from testcloud.ground import MIB

GIB = 1024 * MIB


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(run):
    """(wall s, CPU s of the child processes) of ``run()``."""
    cpu, started = _children_cpu(), time.monotonic()
    run()
    return time.monotonic() - started, _children_cpu() - cpu


def _transfer(conf, export, image):
    def run():
        p1 = subprocess.Popen(
            export, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        p2 = subprocess.Popen(
            ['rbd', 'import-diff', '--conf', conf, '-', image],
            stdin=p1.stdout,
            stderr=subprocess.DEVNULL,
        )
        p1.stdout.close()
        p2.wait()
        p1.wait()

    return run


def _report_reads(count=2000):
    """Seconds of the /proc reads of one progress report, on a child."""
    child = subprocess.Popen(['sleep', '30'])
    try:
        transfer = watched.RbdTransfer.__new__(watched.RbdTransfer)
        transfer._arguments = b'30\0'
        transfer._parent = os.getpid()
        transfer._process, transfer._gone, transfer._moved = None, False, 0
        transfer._written()  # finds the child: a scan of /proc, once
        started = time.perf_counter()
        for _ in range(count):
            transfer._written()
        return (time.perf_counter() - started) / count
    finally:
        child.kill()
        child.wait()


def main(size_gib, random_share, rounds):
    print(f'# Watching an RBD transfer ({describe_machine()})')
    data = int(size_gib * GIB * random_share)
    print(
        f'{size_gib} GiB image, {data // MIB} MiB of random data in '
        f'{REGION // MIB} MiB regions; {rounds} rounds'
    )
    with Ceph(tempfile.mkdtemp(prefix='bench-rbd-')) as cluster:
        cluster.rbd('create', 'volumes/source', '--size', f'{size_gib}G')
        with cluster.image('volumes', 'source') as image:
            for offset in regions(size_gib * GIB, random_share):
                image.write(os.urandom(REGION), offset)
        cluster.rbd('snap', 'create', 'volumes/source@backup')
        export = ['rbd', 'export-diff', '--conf', cluster.conf,
                  'volumes/source@backup', '-']  # fmt: skip
        print('round | transfer: wall s, CPU s | rbd diff: wall s, CPU s | '
              'diff CPU / transfer CPU')  # fmt: skip
        for n in range(rounds):
            target = f'backups/target-{n}'
            cluster.rbd('create', target, '--size', f'{size_gib}G')
            wall, cpu = _timed(_transfer(cluster.conf, export, target))
            diff_wall, diff_cpu = _timed(
                lambda: subprocess.run(
                    watched.diff_command(export),
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
            )
            print(
                f'{n:5} | {wall:6.2f} s {cpu:6.2f} s | {diff_wall:6.3f} s '
                f'{diff_cpu:6.3f} s | {100 * diff_cpu / cpu:5.1f} %'
            )
    print(f'/proc reads per progress report: {_report_reads() * 1e6:.1f} us')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size-gib', type=int, default=3)
    parser.add_argument('--random-share', type=float, default=0.25)
    parser.add_argument('--rounds', type=int, default=3)
    arguments = parser.parse_args()
    sys.exit(
        main(arguments.size_gib, arguments.random_share, arguments.rounds)
    )
