"""Benchmark 3: one polling pass over many backups, on a real Cinder API.

This project's ``cinder_backups`` discovery against the one an operator
would run instead: Ceilometer's own ``VolumeBackupsDiscovery`` (behind its
``volume.backup.size`` pollster; openstacksdk through
``ceilometer.cinder_client``). Both authenticate as the ceilometer user of
a real Keystone 30 and list every project's backups from a real
cinder-api 29, whose database holds the backups (put there as rows:
making 100 000 through cinder-backup would take hours). Both take
Cinder's pages of 1000 (its osapi_max_limit).

Time: best of two passes, interleaved, without tracing, and the CPU
seconds of this process during them. Memory: one more pass each under
tracemalloc, its peak and what the result keeps per backup. This
project's pass is mostly waiting for cinder-api: that wait is Cinder's
own time for the pages, the floor under any client, so each line also
says how much faster than Ceilometer's any client could be here. Then
one profiled pass of Ceilometer's says where its time goes.
"""

import argparse
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time

from ceilometer.volume.discovery import VolumeBackupsDiscovery
from keystoneauth1 import loading as ks_loading

from benchmarks.common import describe_machine, traced
from ceilometer_backup.meter.discovery import BackupDiscovery
from testcloud.ground import service_credentials
from testcloud.stack import Stack
from tests.support import config

# What Ceilometer 27's cinder client needs to find Cinder at all: its
# default service type (volumev3) is not one openstacksdk enables, and
# openstacksdk reads the endpoint options from a [cinder] section.
STOCK_CONF = """
[service_types]
cinder = block-storage
[cinder]
valid_interfaces = internal
region_name = RegionOne
"""


def _conf(workdir, name, text):
    path = os.path.join(workdir, name)
    with open(path, 'w') as f:
        f.write(text)
    return config.prepare_service([path])


def _stock_discovery(workdir, credentials):
    conf = _conf(workdir, 'stock.conf', credentials + STOCK_CONF)
    ks_loading.register_adapter_conf_options(conf, 'cinder')
    return VolumeBackupsDiscovery(conf)


def timed(discover):
    """(wall seconds, CPU seconds of this process, backups listed)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    count = len(discover(None))
    return time.perf_counter() - wall, time.process_time() - cpu, count


# Where a profiled pass of Ceilometer's spends its time: (what, file of
# the function, function); the rest is what the pass does around them.
STAGES = (
    (
        'building openstacksdk Resource objects',
        'openstack/resource.py',
        '__init__',
    ),
    ('HTTP to cinder-api', 'keystoneauth1/session.py', 'request'),
)


def where_time_goes(discover):
    """Each stage's share of a profiled pass (its cumulative time)."""
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.runcall(discover, None)
    total = time.perf_counter() - started
    stats = pstats.Stats(profile).stats
    shares = []
    for what, path, function in STAGES:
        spent = sum(
            cumulative
            for (filename, _, name), (_, _, _, cumulative, _) in stats.items()
            if filename.endswith(path) and name == function
        )
        shares.append(f'{what} {100 * spent / total:.0f} %')
    return ', '.join(shares)


def main(sizes):
    print(
        f'# Pollster scale, real Keystone + cinder-api ({describe_machine()})'
    )
    workdir = tempfile.mkdtemp(prefix='bench-pollster-')
    with Stack(os.path.join(workdir, 'stack')) as stack:
        credentials = service_credentials(**stack.credentials('ceilometer'))
        ours = BackupDiscovery(_conf(workdir, 'ours.conf', credentials))
        stock = _stock_discovery(workdir, credentials)
        for discovery in (ours, stock):
            discovery.discover(None)  # authenticate outside the timing
        project = stack.keystone.project_ids['demo']
        print(
            'backups | this project: s (CPU s), peak MiB, B/backup kept | '
            'Ceilometer 27: s (CPU s), peak MiB, B/backup kept | ratios'
        )
        listed = 0
        profiled = None
        for count in sizes:
            stack.cinder.put_backups(project, count - listed, first=listed)
            listed = count
            runs = {'ours': [], 'stock': []}
            for _ in range(2):
                for name, discovery in (('ours', ours), ('stock', stock)):
                    wall, cpu, found = timed(discovery.discover)
                    assert found == count, (name, found, count)
                    runs[name].append((wall, cpu))
            t_ours, cpu_ours = min(runs['ours'])
            floor = t_ours - cpu_ours  # this project's pass, waiting
            t_stock, cpu_stock = min(runs['stock'])
            peak_ours, kept_ours = traced(lambda: ours.discover(None))
            peak_stock, kept_stock = traced(lambda: stock.discover(None))
            print(
                f'{count:7,} | {t_ours:6.2f} s ({cpu_ours:5.2f}) '
                f'{peak_ours / 2**20:6.1f} MiB {kept_ours / count:5.0f} B | '
                f'{t_stock:6.2f} s ({cpu_stock:5.2f}) '
                f'{peak_stock / 2**20:6.1f} MiB {kept_stock / count:5.0f} B | '
                f'{t_stock / t_ours:.1f}x faster, '
                f'{kept_stock / kept_ours:.1f}x less kept, '
                f'{peak_stock / peak_ours:.1f}x lower peak; '
                f'cinder-api alone {floor:.2f} s: no client can be more than '
                f'{t_stock / floor:.1f}x faster'
            )
            if profiled is None:  # the shares do not grow with the count
                profiled = f"Ceilometer's pass at {count:,}, profiled: "
                profiled += where_time_goes(stock.discover)
        print(profiled)
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'sizes', nargs='*', type=int, default=[10_000, 50_000, 100_000]
    )
    sys.exit(main(parser.parse_args().sizes))
