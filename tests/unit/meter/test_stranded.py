"""backup.idle of backups a dead cinder-backup host left under way."""

import logging

import pytest

from ceilometer_backup.meter import cinder, meters, pollster
from tests.support import config
from tests.support.openstack_api import (
    PASSWORD,
    FakeOpenStack,
    backup_service,
    make_backups,
)

DOWN_FOR = 300  # seconds since the dead host last reported


@pytest.fixture
def api():
    """Backups under way and at rest on a dead host and a live one, and
    one under way on a host that died before it ever reported."""
    raws = make_backups(7)
    statuses = ['creating', 'restoring', 'available'] * 2 + ['creating']
    hosts = ['dead'] * 3 + ['alive'] * 3 + ['never']
    for raw, status in zip(raws, statuses, strict=True):
        raw['status'] = status
    with FakeOpenStack(raws) as api:
        api.backup_hosts = {
            raw['id']: host for raw, host in zip(raws, hosts, strict=True)
        }
        api.services = [
            backup_service('dead', 'down', DOWN_FOR),
            backup_service('alive', 'up', 1),
            # Another binary on the dead host's name: not a backup host.
            dict(backup_service('dead', 'up', 1), binary='cinder-volume'),
            # Down before it ever reported: nothing to count from.
            dict(backup_service('never', 'down', 0), updated_at=None),
        ]
        yield api


def _poll(api, tmp_path):
    conf = config.polling_conf(api, str(tmp_path))
    records = cinder.CinderBackups(conf).records()
    return list(
        pollster.BackupStrandedPollster(conf).get_samples(None, {}, records)
    )


def test_the_dead_hosts_creates_and_restores_are_idle_since_it_reported(
    api, tmp_path
):
    samples = _poll(api, tmp_path)
    stranded = {
        raw['id']: raw
        for raw in api.backups
        if api.backup_hosts[raw['id']] == 'dead'
        and raw['status'] != 'available'
    }
    assert {s.resource_id for s in samples} == set(stranded)
    for sample in samples:
        raw = stranded[sample.resource_id]
        assert (sample.name, sample.type, sample.unit) == meters.IDLE
        assert DOWN_FOR <= sample.volume < DOWN_FOR + 30
        assert sample.project_id == raw['os-backup-project-attr:project_id']
        assert sample.user_id == raw['user_id']
        assert sample.resource_metadata['host'] == 'dead'
        assert sample.resource_metadata['status'] == raw['status']


def test_a_cycle_with_nothing_under_way_asks_cinder_nothing_more(
    api, tmp_path
):
    for raw in api.backups:
        raw['status'] = 'available'
    assert _poll(api, tmp_path) == []
    assert not [r for r in api.requests if 'os-services' in r]
    # The discovery's listing only.
    assert len([r for r in api.requests if '/backups' in r]) == 1


def test_a_refusal_is_one_error_per_cycle_and_the_next_recovers(
    api, tmp_path, caplog
):
    conf = config.polling_conf(api, str(tmp_path))
    records = cinder.CinderBackups(conf).records()
    stranded = pollster.BackupStrandedPollster(conf)
    api.cinder_status = 500
    with caplog.at_level(logging.DEBUG):
        assert list(stranded.get_samples(None, {}, records)) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert 'which backup hosts are down' in errors[0].getMessage()
    assert '/volume/v3/' in errors[0].getMessage()
    assert errors[0].exc_info is None
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)
    api.cinder_status = None
    assert len(list(stranded.get_samples(None, {}, records))) == 2
