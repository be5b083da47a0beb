"""Benchmark 9: what the back window ``ceilometer-backup upgrade`` gives
the backup meters' archive policy costs Gnocchi, on a real Gnocchi.

The baseline is the policy a deployment uses without it,
``ceilometer-low`` (5-minute blocks, ``back_window: 0``); against it, the
same definition with the back window of ``[backup_gnocchi]
outage_minutes`` (an hour by default: 14 blocks). Each has the same number
of metrics, fed the same measures a cycle: one a metric, as the central
agent's polling gives every backup's meters, timestamps advancing by the
polling interval. The two are fed in turn, cycle by cycle, each drained by
gnocchi-metricd before the other is posted, so the machine's noise falls
on both alike.

Per policy: metricd's CPU seconds (its process tree) over all cycles, and
the bytes Gnocchi's file storage holds for the metrics once drained (what
it keeps of each: the raw measures of the back window, and the
aggregates).
"""

import argparse
import os
import sys
import tempfile

from benchmarks.common import describe_machine, wait_for_metricd
from ceilometer_backup.meter.gnocchi import schema
from testcloud import servers
from testcloud.gnocchi import Gnocchi
from testcloud.postgresql import PostgreSQL

LOW = {
    'name': 'ceilometer-low',
    'aggregation_methods': ['mean'],
    'back_window': 0,
    'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}],
}
START = 1_796_000_000  # seconds since the epoch: a block boundary


def _bytes(storage, policy_of):
    """policy name -> (bytes of raw measures, bytes in all) that the file
    storage holds for the metrics of ``policy_of`` (metric id -> name)."""
    found = {name: [0, 0] for name in set(policy_of.values())}
    for folder, _, names in os.walk(storage):
        # <basepath>/<id's hex, in parts>/<id>[/agg_<method>]
        owners = [policy_of[p] for p in folder.split(os.sep) if p in policy_of]
        if not owners:
            continue
        (name,) = owners
        for each in names:
            size = os.path.getsize(os.path.join(folder, each))
            found[name][0] += size if each.startswith('none') else 0
            found[name][1] += size
    return found


def main(metrics, cycles, interval):
    print(
        f'# The back window of the backup meters, real Gnocchi '
        f'({describe_machine()})'
    )
    kept = dict(
        LOW,
        name='ceilometer-low-back-window',
        back_window=schema.back_window(LOW, 3600),
    )
    workdir = tempfile.mkdtemp(prefix='bench-back-window-')
    with PostgreSQL() as database:
        database.create_database('gnocchi')
        gnocchi = Gnocchi(
            os.path.join(workdir, 'gnocchi'),
            database.database_url('gnocchi'),
        )
        gnocchi.start()
        try:
            client = gnocchi.client()
            metricd = next(
                p.pid for p in gnocchi.processes if p is not gnocchi.api
            )
            cpu = {}
            ids = {}
            for policy in (LOW, kept):
                client.archive_policy.create(policy)
                ids[policy['name']] = [
                    client.metric.create(
                        {'archive_policy_name': policy['name']}
                    )['id']
                    for _ in range(metrics)
                ]
                cpu[policy['name']] = 0.0
            for cycle in range(cycles):
                stamp = START + cycle * interval
                for policy in (LOW, kept):
                    before = servers.tree_cpu_seconds(metricd)
                    client.metric.batch_metrics_measures(
                        {
                            metric_id: [
                                {'timestamp': stamp, 'value': float(cycle)}
                            ]
                            for metric_id in ids[policy['name']]
                        }
                    )
                    wait_for_metricd(client)
                    cpu[policy['name']] += (
                        servers.tree_cpu_seconds(metricd) - before
                    )
            stored = _bytes(
                os.path.join(gnocchi.workdir, 'storage'),
                {
                    m: name
                    for name, metric_ids in ids.items()
                    for m in metric_ids
                },
            )
            print(
                f'{metrics} metrics a policy, {cycles} cycles of one measure '
                f'each every {interval} s'
            )
            print(
                'policy | back_window | metricd CPU s | raw measures bytes '
                '| storage bytes'
            )
            for policy in (LOW, kept):
                name = policy['name']
                print(
                    f'{name} | {policy["back_window"]} | {cpu[name]:.2f} | '
                    f'{stored[name][0]} | {stored[name][1]}'
                )
            low, window = LOW['name'], kept['name']
            print(
                f'ratio (back window / none): metricd CPU '
                f'{cpu[window] / cpu[low]:.2f}x, raw measures '
                f'{stored[window][0] / stored[low][0]:.2f}x, storage '
                f'{stored[window][1] / stored[low][1]:.2f}x'
            )
        finally:
            gnocchi.stop()
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--metrics', type=int, default=1000)
    parser.add_argument('--cycles', type=int, default=12)
    parser.add_argument(
        '--interval',
        type=int,
        default=600,
        help="seconds between cycles' measures (the polling interval)",
    )
    args = parser.parse_args()
    sys.exit(main(args.metrics, args.cycles, args.interval))
