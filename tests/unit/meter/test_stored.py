import logging

import pytest

from ceilometer_backup.meter import cinder, pollster, stored
from tests.support.fake_gnocchi import FakeGnocchi
from tests.support.openstack_api import make_backups

GIB = 1024**3


@pytest.fixture
def gnocchi(monkeypatch):
    fake = FakeGnocchi()
    monkeypatch.setattr(
        stored.gnocchi_client, 'get_gnocchiclient', lambda conf: fake
    )
    return fake


def _records(*statuses):
    return [
        cinder.BackupRecord.from_api(dict(raw, status=status))
        for raw, status in zip(
            make_backups(len(statuses)), statuses, strict=True
        )
    ]


NOW = '2026-12-01T10:00:00+00:00'


def _held(gnocchi, records, figures, ended=()):
    for record, figure in zip(records, figures, strict=True):
        gnocchi.resources[record.id] = {
            'ended_at': '2026-12-01T00:00:00' if record in ended else None,
            'stored_bytes': figure,
            'revision_start': NOW,
        }


def test_the_first_search_reads_every_page_of_open_resources(gnocchi):
    gnocchi.resources.update(
        {
            f'{n:08d}': {
                'ended_at': None,
                'stored_bytes': n,
                'revision_start': NOW,
            }
            for n in range(2500)
        }
    )
    gnocchi.resources['none'] = {
        'ended_at': None,
        'stored_bytes': None,
        'revision_start': NOW,
    }
    gnocchi.resources['gone'] = {
        'ended_at': 'yesterday',
        'stored_bytes': 1,
        'revision_start': NOW,
    }
    held = stored.StoredSizes(None).by_backup()
    assert gnocchi.queries == [stored.OPEN] * 3
    assert held == {f'{n:08d}': n for n in range(2500)}


def test_later_searches_ask_only_for_what_was_revised(gnocchi):
    old = {'ended_at': None, 'stored_bytes': 1, 'revision_start': NOW}
    gnocchi.resources.update({'a': dict(old), 'b': dict(old), 'c': old})
    sizes = stored.StoredSizes(None)
    assert sizes.by_backup() == {'a': 1, 'b': 1, 'c': 1}
    # Since the last search: one made, one ended, one (odd) re-counted.
    gnocchi.resource.create('volume_backup', {'id': 'd', 'stored_bytes': 7})
    gnocchi.resource.update('volume_backup', 'a', {'ended_at': NOW})
    gnocchi.resource.update('volume_backup', 'b', {'stored_bytes': 2})
    assert sizes.by_backup() == {'b': 2, 'c': 1, 'd': 7}
    (since,) = gnocchi.queries[-1]['>='].values()
    # From OVERLAP before the latest revision the first search saw.
    assert since == '2026-12-01T09:55:00+00:00'
    gnocchi.resources['c']['revision_start'] = '2026-12-01T09:00:00+00:00'
    assert sizes.by_backup() == {'b': 2, 'c': 1, 'd': 7}


def test_a_search_failing_midway_takes_nothing(gnocchi, monkeypatch):
    gnocchi.resources.update(
        {
            f'{n:08d}': {
                'ended_at': None,
                'stored_bytes': n,
                'revision_start': NOW,
            }
            for n in range(1500)
        }
    )
    sizes = stored.StoredSizes(None)
    search = gnocchi.resource.search

    def second_page_fails(**kwargs):
        if kwargs['marker']:
            raise ConnectionError('gone')
        return search(**kwargs)

    monkeypatch.setattr(gnocchi.resource, 'search', second_page_fails)
    with pytest.raises(ConnectionError):
        sizes.by_backup()
    monkeypatch.setattr(gnocchi.resource, 'search', search)
    assert len(sizes.by_backup()) == 1500
    assert gnocchi.queries[-1] == stored.OPEN, 'the whole search again'


def _poll(records):
    return list(
        pollster.BackupStoredSizePollster(None).get_samples(None, {}, records)
    )


def test_each_backup_is_sampled_at_what_its_create_stored(gnocchi):
    records = _records('available', 'restoring', 'deleting', 'available')
    _held(gnocchi, records, [6 * GIB, GIB // 2, 7, 0])
    samples = _poll(records)
    assert [(s.resource_id, s.volume) for s in samples] == [
        (records[0].id, 6 * GIB),
        (records[1].id, GIB // 2),
        (records[2].id, 7),
        (records[3].id, 0),
    ]
    sample = samples[0]
    assert (sample.name, sample.type, sample.unit) == (
        'backup.stored.size',
        'gauge',
        'B',
    )
    assert (sample.project_id, sample.user_id) == (
        records[0].project_id,
        records[0].user_id,
    )
    assert sample.resource_metadata == records[0].metadata


def test_backups_in_error_or_being_made_are_not_sampled(gnocchi, caplog):
    records = _records('error', 'creating', 'available')
    _held(gnocchi, records, [GIB, GIB, GIB])
    with caplog.at_level(logging.INFO):
        samples = _poll(records)
    assert [s.resource_id for s in samples] == [records[2].id]
    assert not [r for r in caplog.records if 'no stored size' in r.message]


def test_uncounted_backups_are_told_once_a_cycle(gnocchi, caplog):
    records = _records('available', 'available', 'creating', 'available')
    # The first has no figure, the second's resource has ended (Gnocchi
    # saw it deleted though Cinder still lists it), the third is still
    # being made; only the last is held.
    _held(gnocchi, records, [None, 5, None, 9], ended=[records[1]])
    with caplog.at_level(logging.INFO):
        samples = _poll(records)
    assert [(s.resource_id, s.volume) for s in samples] == [(records[3].id, 9)]
    (line,) = [r for r in caplog.records if 'no stored size' in r.message]
    assert line.levelno == logging.INFO
    assert line.getMessage().startswith('2 of 4 backups have no stored size')


def test_gnocchi_unreachable_is_one_error_and_no_samples(gnocchi, caplog):
    records = _records('available')
    _held(gnocchi, records, [GIB])
    gnocchi.unreachable = ConnectionError('gnocchi-api is down')
    assert _poll(records) == []
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.levelno == logging.ERROR
    assert 'gnocchi-api is down' in line.getMessage()
    # The next cycle reads it again.
    gnocchi.unreachable = None
    assert [s.volume for s in _poll(records)] == [GIB]
