from ceilometer_backup import reconcile


class FakeResources:
    """gnocchiclient's resource API over a dict of volume_backup resources."""

    def __init__(self, resources):
        self.resources = resources
        self.searches = 0
        self.resource = self

    def search(self, resource_type, query, sorts, limit, marker):
        assert resource_type == 'volume_backup'
        assert query == {'=': {'ended_at': None}}
        self.searches += 1
        open_ids = sorted(
            i for i, r in self.resources.items() if r['ended_at'] is None
        )
        start = open_ids.index(marker) + 1 if marker else 0
        return [{'id': i} for i in open_ids[start : start + limit]]

    def update(self, resource_type, resource_id, changes):
        self.resources[resource_id].update(changes)


def test_ends_exactly_the_open_resources_cinder_no_longer_lists():
    ids = [f'{n:08d}' for n in range(2500)]
    resources = {i: {'ended_at': None} for i in ids}
    resources['already'] = {'ended_at': '2026-01-01T00:00:00'}
    gnocchi = FakeResources(resources)
    live = set(ids[::2])
    ended = reconcile.end_vanished(gnocchi, live, '2026-11-25T00:00:00')
    assert set(ended) == set(ids[1::2])
    assert gnocchi.searches == 3, 'every page of open resources'
    assert all(resources[i]['ended_at'] is None for i in live)
    assert resources['already']['ended_at'] == '2026-01-01T00:00:00'
    assert reconcile.end_vanished(gnocchi, live, 'later') == []
