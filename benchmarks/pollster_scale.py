"""Benchmark 3: one polling pass over many backups, time and memory.

The ``cinder_backups`` discovery against python-cinderclient's plain
``backups.list()`` (which follows every ``next`` link itself and keeps a
full resource object, raw dict included, per backup), both over real HTTP
to the loopback Cinder API at 1000 backups a page. Memory is measured
with tracemalloc: peak during the pass, and what stays per backup.
"""

import gc
import sys
import tempfile
import time
import tracemalloc

from benchmarks.common import describe_machine
from ceilometer_backup.meter.discovery import BackupDiscovery
from tests.support import config
from tests.support.openstack_api import FakeOpenStack, make_backups


def measure(run):
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed, current, peak


def main(sizes=(10_000, 50_000, 100_000)):
    print(f'# Pollster scale ({describe_machine()})')
    print(
        'backups | discovery: s, peak MiB, bytes/backup kept | '
        'cinderclient list(): s, peak MiB, bytes/backup kept'
    )
    workdir = tempfile.mkdtemp()
    for count in sizes:
        with FakeOpenStack(make_backups(count)) as api:
            discovery = BackupDiscovery(config.polling_conf(api, workdir))
            discovery.discover(None)  # authenticate outside the timing
            records, t_ours, kept_ours, peak_ours = measure(
                lambda discovery=discovery: discovery.discover(None)
            )
            assert len(records) == count
            del records
            cinder = discovery.backups._cinder()
            listed, t_plain, kept_plain, peak_plain = measure(
                lambda cinder=cinder: cinder.backups.list(
                    detailed=True, search_opts={'all_tenants': 1}
                )
            )
            assert len(listed) == count
            del listed
        print(
            f'{count:7,} | {t_ours:6.2f} s {peak_ours / 2**20:7.1f} MiB '
            f'{kept_ours / count:6.0f} B | {t_plain:6.2f} s '
            f'{peak_plain / 2**20:7.1f} MiB {kept_plain / count:6.0f} B | '
            f'{kept_plain / kept_ours:.1f}x less kept, '
            f'{peak_plain / peak_ours:.1f}x lower peak'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
