import datetime
import logging

import pytest

from ceilometer_backup.meter import cinder, pollster
from ceilometer_backup.meter.gnocchi import stored
from tests.support.fake_gnocchi import FakeGnocchi
from tests.support.openstack_api import LISTED_AT, make_backups

GIB = 1024**3


@pytest.fixture
def gnocchi(monkeypatch):
    fake = FakeGnocchi()

    def client(conf, request_timeout):
        fake.request_timeout = request_timeout
        return fake

    monkeypatch.setattr(stored.gnocchi_client, 'get_gnocchiclient', client)
    return fake


def _records(*statuses):
    return [
        cinder.BackupRecord.from_api(dict(raw, status=status), LISTED_AT)
        for raw, status in zip(
            make_backups(len(statuses)), statuses, strict=True
        )
    ]


def _ago(**delta):
    when = datetime.datetime.now(datetime.timezone.utc)
    return (when - datetime.timedelta(**delta)).isoformat()


def _resource(stored, ended=None, project=None, **revised_ago):
    return {
        'ended_at': ended,
        'stored_bytes': stored,
        'revision_start': _ago(**(revised_ago or {'days': 1})),
        'created_by_project_id': project,
    }


def _held(gnocchi, records, figures, ended=()):
    for record, figure in zip(records, figures, strict=True):
        gnocchi.resources[record.id] = _resource(
            figure, ended='2026-12-01T00:00:00' if record in ended else None
        )


def test_the_first_search_reads_every_page_of_open_resources(gnocchi):
    gnocchi.resources.update({f'{n:08d}': _resource(n) for n in range(2500)})
    gnocchi.resources['none'] = _resource(None)
    gnocchi.resources['gone'] = _resource(1, ended='yesterday')
    held = stored.StoredSizes(None).by_backup()
    assert gnocchi.queries == [stored.OPEN] * 3
    assert held == {f'{n:08d}': n for n in range(2500)}


def test_pages_cut_short_by_gnocchi_are_all_read(gnocchi):
    gnocchi.max_limit = 400  # its [api] max_limit, below the asked 1000
    gnocchi.resources.update({f'{n:08d}': _resource(n) for n in range(900)})
    assert len(stored.StoredSizes(None).by_backup()) == 900
    assert len(gnocchi.queries) == 3


def test_later_searches_ask_only_for_what_was_revised(gnocchi):
    gnocchi.resources.update(
        {'a': _resource(1), 'b': _resource(1), 'c': _resource(1)}
    )
    sizes = stored.StoredSizes(None)
    before = _ago(seconds=0)
    assert sizes.by_backup() == {'a': 1, 'b': 1, 'c': 1}
    # Since the last search: one made, one ended, one (odd) re-counted.
    gnocchi.resource.create('volume_backup', {'id': 'd', 'stored_bytes': 7})
    gnocchi.resource.update('volume_backup', 'a', {'ended_at': _ago()})
    gnocchi.resource.update('volume_backup', 'b', {'stored_bytes': 2})
    # One the last search missed and nothing revised since: not asked for.
    gnocchi.resources['e'] = _resource(5)
    assert sizes.by_backup() == {'b': 2, 'c': 1, 'd': 7}
    (since,) = gnocchi.queries[-1]['>='].values()
    # From OVERLAP before the last search began.
    assert since < before
    assert since > _ago(minutes=5, seconds=5)
    # The full search every FULL_EVERY takes it.
    sizes._full_at -= stored.StoredSizes.FULL_EVERY
    assert sizes.by_backup() == {'b': 2, 'c': 1, 'd': 7, 'e': 5}
    assert gnocchi.queries[-1] == stored.OPEN


def test_a_resource_revised_during_a_long_search_is_not_missed(
    gnocchi, monkeypatch
):
    gnocchi.resources.update({f'{n:08d}': _resource(n) for n in range(1500)})
    search = gnocchi.resource.search

    def and_meanwhile(**kwargs):
        page = search(**kwargs)
        if kwargs['marker']:
            # Made while the second page is read, on the first page's ids.
            gnocchi.resource.create(
                'volume_backup', {'id': '0', 'stored_bytes': 9}
            )
        return page

    monkeypatch.setattr(gnocchi.resource, 'search', and_meanwhile)
    sizes = stored.StoredSizes(None)
    assert '0' not in sizes.by_backup()
    monkeypatch.setattr(gnocchi.resource, 'search', search)
    assert sizes.by_backup()['0'] == 9


def test_a_search_failing_midway_takes_nothing(gnocchi, monkeypatch):
    gnocchi.resources.update({f'{n:08d}': _resource(n) for n in range(1500)})
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


def test_only_ceilometers_own_resources_are_trusted(gnocchi, caplog):
    gnocchi.project_id = 'service-project'
    records = _records('available', 'available')
    gnocchi.resources[records[0].id] = _resource(
        6 * GIB, project='service-project'
    )
    # A tenant made it first, with its own figure.
    gnocchi.resources[records[1].id] = _resource(0, project='tenant')
    samples = _poll(records)
    assert [(s.resource_id, s.volume) for s in samples] == [
        (records[0].id, 6 * GIB)
    ]
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert line.getMessage().startswith(
        '1 open volume_backup resources in Gnocchi were created by another'
    )


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
    # Failing fast: the cycle's later pollsters stamp their samples with
    # when they start.
    assert gnocchi.request_timeout == stored.TIMEOUT
    assert gnocchi.api.connect_retries == 0
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.levelno == logging.ERROR
    assert 'gnocchi-api is down' in line.getMessage()
    # The next cycle reads it again.
    gnocchi.unreachable = None
    assert [s.volume for s in _poll(records)] == [GIB]
