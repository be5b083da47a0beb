"""Benchmark 7: what billing stored bytes by the period adds to a polling
cycle, at many backups, on a real cinder-api and a real Gnocchi.

The baseline is the cycle the central agent ran before: one listing of
every backup from cinder-api (the ``cinder_backups`` discovery) and the
``backup.size``, ``backup`` and ``backup.status`` samples of each. Then
the same cycle with ``backup.stored.size``: one more paged search of
Gnocchi's open ``volume_backup`` resources and a sample for each backup.
The backups are rows in Cinder's database and in Gnocchi's index, each
resource with one metric per meter as the publisher would have made it
(testcloud.scripts.cinder_database and testcloud.scripts.gnocchi_database).

Per cycle: wall and CPU seconds of the polling process (best of two,
interleaved), CPU seconds of cinder-api and gnocchi-api (their process
trees), API calls to each, and calls to backup stores (none: the figure
is carried from the backup's create).
"""

import argparse
import os
import sys
import tempfile
import time

from gnocchiclient.v1.resource import ResourceManager

from benchmarks.common import describe_machine, traced
from ceilometer_backup.meter import pollster
from ceilometer_backup.meter.cinder import CinderBackups
from ceilometer_backup.meter.discovery import BackupDiscovery
from ceilometer_backup.meter.gnocchi.schema import (
    METERS,
    upgrade_resource_type,
)
from ceilometer_backup.meter.gnocchi.stored import StoredSizes
from testcloud import servers
from testcloud.gnocchi import Gnocchi
from testcloud.ground import service_credentials
from testcloud.stack import Stack
from tests.support import config

ARCHIVE_POLICY = {
    'name': 'bench-low',
    'back_window': 0,
    'aggregation_methods': ['mean'],
    'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}],
}
TODAY = (
    pollster.BackupSizePollster,
    pollster.BackupPollster,
    pollster.BackupStatusPollster,
)


class Calls:
    """Counts calls to ``owner.name`` (a method) from now on."""

    def __init__(self, owner, name):
        self.count = 0
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)

        setattr(owner, name, counted)


def cycle(discovery, pollsters, apis, calls):
    """One polling cycle: (wall s, CPU s here, CPU s of each of ``apis``
    (name -> pid, with the processes under it), calls per API, samples)."""
    before = {
        name: servers.tree_cpu_seconds(pid) for name, pid in apis.items()
    }
    counts = {name: c.count for name, c in calls.items()}
    wall, cpu = time.perf_counter(), time.process_time()
    records = discovery.discover(None)
    samples = sum(
        1 for p in pollsters for _ in p.get_samples(None, {}, records)
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return (
        wall,
        cpu,
        {
            name: servers.tree_cpu_seconds(pid) - before[name]
            for name, pid in apis.items()
        },
        {name: c.count - counts[name] for name, c in calls.items()},
        samples,
    )


def main(sizes):
    print(
        f'# Stored bytes by the period, real cinder-api + Gnocchi '
        f'({describe_machine()})'
    )
    workdir = tempfile.mkdtemp(prefix='bench-stored-')
    with Stack(os.path.join(workdir, 'stack')) as stack:
        stack.postgresql.create_database('gnocchi')
        gnocchi = Gnocchi(
            os.path.join(workdir, 'gnocchi'),
            stack.postgresql.database_url('gnocchi'),
        )
        gnocchi.start()
        try:
            client = gnocchi.client()
            client.archive_policy.create(ARCHIVE_POLICY)
            upgrade_resource_type(client)
            conf_file = os.path.join(workdir, 'polling.conf')
            with open(conf_file, 'w') as f:
                f.write(
                    service_credentials(**stack.credentials('ceilometer'))
                    + '[gnocchi]\nauth_section = gnocchi_basic\n'
                    + gnocchi.credentials('gnocchi_basic')
                )
            conf = config.prepare_service([conf_file])
            discovery = BackupDiscovery(conf)
            today = [cls(conf) for cls in TODAY]
            calls = {
                'cinder-api': Calls(CinderBackups, '_page'),
                'gnocchi-api': Calls(ResourceManager, 'search'),
            }
            apis = {
                'cinder-api': stack.cinder.processes['cinder-api'].pid,
                'gnocchi-api': gnocchi.api.pid,
            }
            _run(sizes, stack, gnocchi, discovery, today, conf, apis,
                 calls)  # fmt: skip
        finally:
            gnocchi.stop()
    return 0


def _run(sizes, stack, gnocchi, discovery, today, conf, apis, calls):
    project = stack.keystone.project_ids['demo']
    print(
        'backups | cycle before: s (CPU s here / cinder-api / gnocchi-api), '
        'API calls to each | with backup.stored.size, first cycle of an '
        'agent: same | every later cycle: same'
    )
    listed = 0
    for count in sizes:
        ids = stack.cinder.put_backups(project, count - listed, first=listed)
        gnocchi.put_backups(
            ARCHIVE_POLICY['name'],
            project,
            'listed',
            METERS,
            [(backup_id, 1_000_000 + n) for n, backup_id in enumerate(ids)],
        )
        listed = count
        stored = pollster.BackupStoredSizePollster(conf)
        cycle(discovery, today + [stored], apis, calls)  # its first
        runs = {'before': [], 'first': [], 'later': []}
        for _ in range(2):
            runs['before'].append(cycle(discovery, today, apis, calls))
            fresh = pollster.BackupStoredSizePollster(conf)
            runs['first'].append(
                cycle(discovery, today + [fresh], apis, calls)
            )
            runs['later'].append(
                cycle(discovery, today + [stored], apis, calls)
            )
        best = {
            name: min(timings, key=lambda r: r[0])
            for name, timings in runs.items()
        }
        samples = {name: run[4] for name, run in best.items()}
        assert samples == {
            'before': 3 * count,
            'first': 4 * count,
            'later': 4 * count,
        }, (samples, count)
        before = best['before']
        # What an agent keeps between cycles, the figure of each backup:
        # what a search's result holds once its client is gone.
        _, held = traced(lambda: StoredSizes(conf).by_backup())
        print(
            f'{count:7,} | {_line(before)} | {_line(best["first"])}, '
            f'{_added(before, best["first"])} | {_line(best["later"])}, '
            f'{_added(before, best["later"])}; 0 backup-store calls; '
            f'{held / count:.0f} B kept a backup'
        )


def _added(before, after):
    return (
        f'wall +{100 * (after[0] / before[0] - 1):.0f} %, CPU here '
        f'+{100 * (after[1] / before[1] - 1):.0f} %'
    )


def _line(run):
    wall, cpu, server_cpu, api_calls, _ = run
    return (
        f'{wall:6.2f} s ({cpu:5.2f} / {server_cpu["cinder-api"]:5.2f} / '
        f'{server_cpu["gnocchi-api"]:5.2f}), '
        f'{api_calls["cinder-api"]} + {api_calls["gnocchi-api"]}'
    )


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'sizes', nargs='*', type=int, default=[10_000, 100_000]
    )
    sys.exit(main(parser.parse_args().sizes))
