"""Backups billed by a real CloudKitty 25 from a real Gnocchi 4.7.1.

PostgreSQL (Gnocchi's indexer), Gnocchi's API and metricd, and
cloudkitty-processor (its database SQLite) run as processes the test owns.
The processor rates with etc/cloudkitty/metrics.yml and the prices of
etc/cloudkitty/hashmap.yml, its period shortened to PERIOD seconds (and the
metrics' force_granularity with it, the archive policy holding points at
that granularity, with mean only as Ceilometer's default one).

The test writes what ceilometer-backup would: volume_backup resources,
backup.size and backup.stored.size measured twice a period (the
pollsters'), then ``ended_at`` on the resource of a backup deleted halfway
through a period, whose measures stop there but for one late poll.
tests/functional/test_stored_billing.py has the real services make them.
Gnocchi's aggregates API, which the collector calls with ``use_history``,
only sees a resource in the periods that end after its creation, so
everything happens in real time: the resources are created in the first
rated period, their measures are written ahead, and the deletion is made
when its moment comes.
"""

import datetime
import decimal
import time
import uuid

import pytest

from ceilometer_backup.meter.gnocchi.schema import (
    RESOURCE_TYPE,
    upgrade_resource_type,
)
from testcloud.cloudkitty import CloudKitty
from testcloud.gnocchi import Gnocchi
from testcloud.postgresql import PostgreSQL

PERIOD = 10
GIB = 1024**3
UTC = datetime.timezone.utc
ARCHIVE_POLICY = 'cloudkitty-test'

# Keystone-style ids: CloudKitty's v1 storage keeps 32 characters.
PROJECT_1 = uuid.uuid4().hex
PROJECT_2 = uuid.uuid4().hex
USER = uuid.uuid4().hex
# size (GiB) and stored bytes of each backup
BACKUPS = {
    'full-1': dict(project=PROJECT_1, size=10, stored=6 * GIB, inc=False),
    'deleted': dict(project=PROJECT_2, size=4, stored=3 * GIB, inc=False),
    'incremental': dict(project=PROJECT_2, size=2, stored=GIB // 2, inc=True),
    'failed': dict(
        project=PROJECT_1, size=8, stored=GIB, inc=False, status='error'
    ),
}
# Periods rated: 0, the resources' creation, the deletion halfway through
# 1, then 2 (no measure of the deleted backup) and 3 (one late poll).
PERIODS = 4
DELETED_IN = 1


def _ts(when):
    return when.isoformat()


@pytest.fixture(scope='module')
def billed(tmp_path_factory):
    root = tmp_path_factory.mktemp('cloudkitty')
    database = PostgreSQL()
    gnocchi = Gnocchi(str(root / 'gnocchi'), database.database_url('gnocchi'))
    cloudkitty = None
    try:
        database.start()
        database.create_database('gnocchi')
        gnocchi.start()
        client = gnocchi.client()
        client.archive_policy.create(
            {
                'name': ARCHIVE_POLICY,
                'back_window': 0,
                'aggregation_methods': ['mean'],
                'definition': [
                    {'granularity': f'{PERIOD}s', 'timespan': '1 day'}
                ],
            }
        )
        upgrade_resource_type(client)
        cloudkitty = CloudKitty(
            str(root / 'cloudkitty'),
            gnocchi,
            None,  # SQLite: see CloudKitty's docstring
            [PROJECT_1, PROJECT_2],
            PERIOD,
        )
        cloudkitty.prepare()

        ids = {}
        for name, backup in BACKUPS.items():
            rid = ids[name] = str(uuid.uuid4())
            client.resource.create(
                RESOURCE_TYPE,
                {
                    'id': rid,
                    'project_id': backup['project'],
                    'user_id': USER,
                    'display_name': name,
                    'volume_id': str(uuid.uuid4()),
                    'availability_zone': 'az1',
                    'is_incremental': backup['inc'],
                    'status': backup.get('status', 'available'),
                    'metrics': {
                        m: {'archive_policy_name': ARCHIVE_POLICY}
                        for m in ('backup.size', 'backup.stored.size')
                    },
                },
            )
        # The first rated period is the one the resources were created in
        # (their first revision starts then).
        now = datetime.datetime.now(UTC)
        first = now.replace(
            second=now.second - now.second % PERIOD, microsecond=0
        )
        period = datetime.timedelta(seconds=PERIOD)
        starts = [first + i * period for i in range(PERIODS)]
        deleted_at = starts[DELETED_IN] + period / 2
        measures = {}
        for name, backup in BACKUPS.items():
            # backup.size: polled twice a period; the deleted backup's
            # stop at its deletion, but for one late poll two periods on.
            polls = [s + period * f for s in starts for f in (0.1, 0.6)]
            if name == 'deleted':
                polls = [t for t in polls if t < deleted_at]
                polls.append(starts[DELETED_IN + 2] + period * 0.1)
            measures[ids[name]] = {
                metric: [
                    {'timestamp': _ts(t), 'value': backup[key]} for t in polls
                ]
                for metric, key in (
                    ('backup.size', 'size'),
                    ('backup.stored.size', 'stored'),
                )
            }
        client.metric.batch_resources_metrics_measures(measures)
        for rid in ids.values():
            for metric in ('backup.size', 'backup.stored.size'):
                client.metric.get_measures(
                    metric, resource_id=rid, refresh=True
                )

        # The deletion, as Ceilometer's event publisher makes it.
        time.sleep(
            max(0, (deleted_at - datetime.datetime.now(UTC)).total_seconds())
        )
        client.resource.update(
            RESOURCE_TYPE, ids['deleted'], {'ended_at': _ts(deleted_at)}
        )
        late = datetime.datetime.now(UTC) - deleted_at
        assert late < period / 2, f'the deletion came {late} late'

        # Started now, it rates the periods over, then each as it ends.
        cloudkitty.start(first)
        cloudkitty.wait_rated(starts[-1], timeout=PERIOD * (PERIODS + 4))
        yield {
            'report': cloudkitty.report(starts[0], starts[-1] + period),
            'starts': [_ts(s) for s in starts],
            'ids': ids,
            'gnocchi': client,
        }
    finally:
        if cloudkitty is not None:
            cloudkitty.stop()
        gnocchi.stop()
        database.stop()


D = decimal.Decimal


def _points(billed, name, service):
    rid = billed['ids'][name]
    return {
        f['begin']: (D(f['qty']), D(f['price']))
        for f in billed['report']['frames']
        if f['desc']['id'] == rid and f['service'] == service
    }


def test_a_backup_is_billed_its_size_in_every_period_it_lives(billed):
    # 10 GiB at 0.01 a GiB; 2 GiB at 0.01 x 0.5 (is_incremental True).
    assert _points(billed, 'full-1', 'backup.size') == {
        s: (D(10), D('0.1')) for s in billed['starts']
    }
    assert _points(billed, 'incremental', 'backup.size') == {
        s: (D(2), D('0.01')) for s in billed['starts']
    }


def test_stored_size_is_billed_in_every_period_it_is_held(billed):
    # 6 GiB, 3 GiB and 0.5 GiB at 0.02 a GiB and a period.
    starts = billed['starts']
    assert _points(billed, 'full-1', 'backup.stored.size') == {
        s: (D(6), D('0.12')) for s in starts
    }
    assert _points(billed, 'deleted', 'backup.stored.size') == {
        s: (D(3), D('0.06')) for s in starts[: DELETED_IN + 1]
    }
    assert _points(billed, 'incremental', 'backup.stored.size') == {
        s: (D('0.5'), D('0.01')) for s in starts
    }


def test_a_backup_in_error_is_rated_at_no_cost(billed):
    # The shipped rules: status error multiplies the price by 0.
    assert _points(billed, 'failed', 'backup.size') == {
        s: (D(8), D(0)) for s in billed['starts']
    }
    assert _points(billed, 'failed', 'backup.stored.size') == {
        s: (D(1), D(0)) for s in billed['starts']
    }


def test_deleted_backup_charge_stops_with_its_period(billed):
    starts = billed['starts']
    # Billed whole in the period it was deleted halfway through (the
    # rating unit is the period, and its polls' mean is its size), and
    # never after: not in the next period, which has no measure of it,
    # nor in the one after, which has a late poll.
    assert _points(billed, 'deleted', 'backup.size') == {
        s: (D(4), D('0.04')) for s in starts[: DELETED_IN + 1]
    }
    # That late poll is in Gnocchi: the collector dropped it, the resource
    # having ended before the period.
    late = billed['gnocchi'].metric.get_measures(
        'backup.size',
        resource_id=billed['ids']['deleted'],
        start=starts[DELETED_IN + 2],
    )
    assert [value for _, _, value in late] == [4.0]


def test_bill_lines_carry_the_backup_metadata(billed):
    frames = [
        f
        for f in billed['report']['frames']
        if f['desc']['id'] == billed['ids']['incremental']
    ]
    assert {f['unit'] for f in frames} == {'GiB'}
    for frame in frames:
        desc = frame['desc']
        assert desc['project_id'] == PROJECT_2
        assert desc['user_id'] == USER
        assert desc['display_name'] == 'incremental'
        assert desc['is_incremental'] is True
        assert desc['availability_zone'] == 'az1'
        uuid.UUID(desc['volume_id'])


def test_totals_per_project(billed):
    totals = billed['report']['totals']
    # Project 1: 4 periods x 0.10 and x 0.12; its failed backup 0.
    assert totals[PROJECT_1] == pytest.approx(
        {'backup.size': 0.4, 'backup.stored.size': 0.48}
    )
    # Project 2: the deleted backup 2 periods x 0.04 and x 0.06, the
    # incremental one 4 periods x 0.01 and x 0.01.
    assert totals[PROJECT_2] == pytest.approx(
        {'backup.size': 0.12, 'backup.stored.size': 0.16}
    )
    # The lines add up to the same.
    for project, services in totals.items():
        for service, total in services.items():
            assert float(
                sum(
                    D(f['price'])
                    for f in billed['report']['frames']
                    if f['project_id'] == project and f['service'] == service
                )
            ) == pytest.approx(total)
