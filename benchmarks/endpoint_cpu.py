"""Benchmark 1: samples per second of the ``backup`` endpoint.

Against, in the same run: stock Ceilometer's declarative
``ProcessMeterNotifications`` with its packaged definitions, and the floor
of constructing the same number of ``ceilometer.sample.Sample`` objects,
both as upstream does (``Sample()`` draws a ``uuid1()`` id) and with the
id given, the bare constructor.
Only sample building is timed (publishing is the same for all). The mix
per backup is realistic: create start/end with 10 progress messages, one
exists, and one restore and one delete start/end in ten backups.
"""

import cProfile
import io
import pstats
import sys

from ceilometer.meter.notifications import ProcessMeterNotifications
from ceilometer.sample import Sample

from benchmarks.common import backup_events, best_of, describe_machine
from ceilometer_backup.meter.sample import BackupNotifications
from testcloud.ceilometer_services import STOCK_METERS_DIR
from tests.support import config
from tests.support.messages import notification

BACKUPS = 200


def mix():
    return [
        notification(event_type, payload)
        for event_type, payload in backup_events(BACKUPS)
    ]


def main(runs=5):
    print(f'# Endpoint CPU ({describe_machine()})')
    messages = mix()
    ours = BackupNotifications(None, None)
    stock = ProcessMeterNotifications(
        config.ceilometer_conf(meter_dirs=[STOCK_METERS_DIR]),
        None,
    )

    def run_ours():
        return [s for m in messages for s in ours.build_sample(m)]

    def run_stock():
        return [s for m in messages for s in stock.build_sample(m)]

    our_samples = run_ours()
    stock_samples = run_stock()
    fields = [
        dict(
            name=s.name,
            type=s.type,
            unit=s.unit,
            volume=s.volume,
            user_id=s.user_id,
            project_id=s.project_id,
            resource_id=s.resource_id,
            timestamp=s.timestamp,
            resource_metadata=s.resource_metadata,
        )
        for s in our_samples
    ]

    def run_floor():
        return [Sample(**f) for f in fields]

    ids = [s.id for s in our_samples]

    def run_bare():
        return [Sample(**f, id=i) for f, i in zip(fields, ids, strict=True)]

    t_ours = best_of(runs, run_ours)
    t_stock = best_of(runs, run_stock)
    t_floor = best_of(runs, run_floor)
    t_bare = best_of(runs, run_bare)
    n = len(messages)
    print(
        f'notifications: {n} ({len(our_samples)} samples ours, '
        f'{len(stock_samples)} stock)'
    )
    print(
        f'stock declarative: {n / t_stock:10.0f} notifications/s '
        f'{t_stock / n * 1e6:7.1f} us each'
    )
    print(
        f'backup endpoint:   {n / t_ours:10.0f} notifications/s '
        f'{t_ours / n * 1e6:7.1f} us each'
    )
    for name, t in (('Sample() floor:', t_floor), ('Sample(id=):', t_bare)):
        print(
            f'{name:18} {len(fields) / t:10.0f} samples/s '
            f'{t / len(fields) * 1e6:7.1f} us each'
        )
    per_sample = (t_ours / len(our_samples)) / (t_floor / len(fields))
    print(
        f'ratio: endpoint vs stock, per notification: {t_stock / t_ours:.1f}x '
        f'faster (target >= 8x)'
    )
    print(
        f'ratio: endpoint vs Sample() floor, per sample: {per_sample:.2f}x '
        f'(target <= 1.5x)'
    )
    print(
        'ratio: endpoint vs Sample(id=) bare constructor, per sample: '
        f'{(t_ours / len(our_samples)) / (t_bare / len(fields)):.1f}x'
    )
    profile = cProfile.Profile()
    profile.runcall(run_ours)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats('tottime').print_stats(6)
    print('where the time goes (cProfile, tottime):')
    print('\n'.join(out.getvalue().splitlines()[7:15]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
