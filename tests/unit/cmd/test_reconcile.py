from ceilometer_backup.cmd import reconcile
from ceilometer_backup.meter.gnocchi import stored
from tests.support.fake_gnocchi import FakeGnocchi


def _open_ids(gnocchi):
    return [r['id'] for r in stored.open_backup_resources(gnocchi)]


def test_ends_exactly_the_open_resources_cinder_no_longer_lists():
    ids = [f'{n:08d}' for n in range(2500)]
    resources = {i: {'ended_at': None} for i in ids}
    resources['already'] = {'ended_at': '2026-01-01T00:00:00'}
    gnocchi = FakeGnocchi(resources)
    live = set(ids[::2])
    open_ids = _open_ids(gnocchi)
    assert len(gnocchi.queries) == 3, 'every page of open resources'
    ended = reconcile.vanished(open_ids, live)
    assert set(ended) == set(ids[1::2])
    reconcile.end(gnocchi, ended, '2026-11-25T00:00:00')
    assert all(resources[i]['ended_at'] is None for i in live)
    assert resources['already']['ended_at'] == '2026-01-01T00:00:00'
    open_ids = _open_ids(gnocchi)
    assert reconcile.vanished(open_ids, live) == []
