"""backup-gnocchi:// against a recording stand-in for Gnocchi's API.

The publisher is the real one, loaded through Ceilometer's entry point;
only its gnocchiclient is replaced. tests/functional/test_gnocchi_stack.py
runs it against a real Gnocchi.
"""

import logging
import os
import time

import pytest
from ceilometer import publisher as ceilometer_publisher
from ceilometer import sample as ceilometer_sample
from ceilometer import version
from ceilometer.publisher import gnocchi as upstream
from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc

from ceilometer_backup.cmd import gnocchi
from ceilometer_backup.meter.gnocchi import outbox, schema, spool
from ceilometer_backup.meter.gnocchi import publisher as backup_publisher
from ceilometer_backup.upstream import ceilometer as inventory
from tests.support import config
from tests.support.fake_gnocchi import FakeGnocchi

BACKUP = '1b6e4d0a-6f0c-4d43-9f43-6c3c1fb5b6a1'


@pytest.fixture
def spool_dir(tmp_path):
    return tmp_path / 'spool'


@pytest.fixture
def make_publisher(tmp_path, spool_dir, monkeypatch):
    monkeypatch.setattr(outbox, 'RETRY_START', 0.01)
    monkeypatch.setattr(outbox, 'RETRY_MAX', 0.02)
    # Gnocchi's basic auth: the publisher builds its clients offline.
    conf_file = tmp_path / 'ceilometer.conf'
    conf_file.write_text(
        '[service_credentials]\nauth_type = gnocchi-basic\nuser = admin\n'
        'endpoint = http://127.0.0.1:9\n'
        f'[backup_gnocchi]\nspool_dir = {spool_dir}\nspool_max_mb = 1\n'
    )
    conf = config.prepare_service([str(conf_file)])
    gnocchi.write_files(gnocchi.deploy_files(conf), tmp_path)

    def make(fake):
        published = ceilometer_publisher.get_publisher(
            conf,
            'backup-gnocchi://?enable_filter_project=false&resources_'
            f'definition_file={tmp_path}/gnocchi_resources.yaml',
            'ceilometer.sample.publisher',
        )
        assert isinstance(published, backup_publisher.BackupGnocchiPublisher)
        published._gnocchi = fake
        # Before Ceilometer 26 (no enable_filter_project) the publisher
        # looks its project up in Keystone, which these tests do not have.
        published.filter_project = None
        return published

    return make


def samples(display_name='nightly'):
    return [
        ceilometer_sample.Sample(
            name=name,
            type='gauge',
            unit=unit,
            volume=1,
            user_id='user-1',
            project_id='project-1',
            resource_id=BACKUP,
            timestamp='2026-11-25T01:02:03+00:00',
            resource_metadata={'display_name': display_name},
        )
        for name, unit in (('backup.size', 'GB'), ('backup', 'backup'))
    ]


def test_a_new_resource_is_created_with_its_metrics_and_posted_once(
    make_publisher,
):
    fake = FakeGnocchi()
    publisher = make_publisher(fake)
    publisher.publish_samples(samples())
    publisher.publish_samples(samples())
    assert [call[0] for call in fake.calls] == ['create', 'post', 'post']
    _, resource_type, resource = fake.calls[0]
    assert resource_type == schema.RESOURCE_TYPE
    assert resource['display_name'] == 'nightly'
    assert resource['project_id'] == 'project-1'
    # ceilometer-low with upgrade's back window: an hour's outage and a
    # minute of the sender's wait, 61 minutes in 5-minute blocks, and one.
    policy = 'ceilometer-low-back-window'
    assert resource['metrics'] == {
        'backup.size': {'archive_policy_name': policy, 'unit': 'GB'},
        'backup': {'archive_policy_name': policy, 'unit': 'backup'},
    }


def test_a_resource_that_exists_already_gets_its_measures_and_attributes(
    make_publisher,
):
    fake = FakeGnocchi(fail_create=gnocchi_exc.ResourceAlreadyExists(409))
    fake.resources[BACKUP] = {'ended_at': None}
    publisher = make_publisher(fake)
    publisher.publish_samples(samples(display_name='renamed'))
    # Not in this process's cache, so upstream compares nothing and
    # updates the attributes, as it does for any resource it has not seen.
    assert [call[0] for call in fake.calls] == ['create', 'post', 'update']


def test_a_failed_creation_falls_back_to_the_upstream_path(
    make_publisher, caplog
):
    fake = FakeGnocchi(fail_create=gnocchi_exc.ClientException(422))
    publisher = make_publisher(fake)
    with caplog.at_level(logging.DEBUG):
        publisher.publish_samples(samples())
    # Upstream: the post finds the resource unknown, creates it, posts
    # again.
    assert [call[0] for call in fake.calls] == [
        'create',
        'post',
        'create',
        'post',
    ]
    assert 'metrics' not in fake.calls[2][2]
    assert BACKUP in fake.resources
    assert any('upstream path' in r.getMessage() for r in caplog.records)


def test_without_a_cache_it_is_the_upstream_publisher(make_publisher):
    fake = FakeGnocchi()
    publisher = make_publisher(fake)
    publisher.cache = None
    publisher.publish_samples(samples())
    assert [call[0] for call in fake.calls] == [
        'post',
        'create',
        'post',
        'update',
    ]


def samples_at(*stamps):
    """One backup.size sample of BACKUP at each of ``stamps`` (minutes)."""
    return [
        ceilometer_sample.Sample(
            **dict(
                samples()[0].as_dict(),
                id=None,
                volume=minute,
                timestamp=f'2026-11-25T01:{minute:02d}:00+00:00',
            )
        )
        for minute in stamps
    ]


def _ours(record):
    """Logged by the publisher or its parts, not by Ceilometer or
    oslo.cache."""
    return record.name.startswith(f'{backup_publisher.__package__}.')


def _published_lines(caplog):
    return [r.getMessage() for r in caplog.records if _ours(r)]


def _values(fake):
    """The backup.size values Gnocchi took, in the order it took them."""
    return [
        m['value']
        for measures in fake.posted
        for m in measures[BACKUP]['backup.size']['measures']
    ]


def _kept(spool_dir):
    return [n for n in os.listdir(spool_dir) if n.endswith(spool.SUFFIX)]


def _wait_sent(publisher):
    """Until the publisher's sender is done: the spool empty, and what it
    logs on the way logged."""
    deadline = time.monotonic() + 10
    while publisher._outbox._sender is not None:
        assert time.monotonic() < deadline, os.listdir(
            publisher._outbox.spool.directory
        )
        time.sleep(0.01)
    assert _kept(publisher._outbox.spool.directory) == []


def test_gnocchi_unreachable_keeps_batches_on_disk_and_sends_them_in_order(
    make_publisher, spool_dir, caplog
):
    fake = FakeGnocchi()
    publisher = make_publisher(fake)
    publisher.publish_samples(samples_at(1))
    fake.unreachable = gnocchi_exc.ConnectionFailure('refused')
    with caplog.at_level(logging.DEBUG):
        publisher.publish_samples(samples_at(2, 3))
        publisher.publish_samples(samples_at(4))
        # Nothing Gnocchi did not take is lost from the disk meanwhile.
        assert len(_kept(spool_dir)) == 2
        fake.unreachable = None
        _wait_sent(publisher)
        publisher.publish_samples(samples_at(5))
    assert _values(fake) == [1, 2, 3, 4, 5]
    messages = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.INFO and _ours(r)
    ]
    assert [level for level, _ in messages] == ['WARNING', 'INFO']
    assert messages[0][1].startswith(
        'Gnocchi could not take 2 backup samples (Unknown Error (HTTP '
        f'refused)): kept in {spool_dir}'
    )
    assert messages[1][1] == (
        'Gnocchi takes backup samples again: 2 kept batches sent'
    )
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    'error',
    [
        gnocchi_exc.ClientException(503, 'Service Unavailable'),
        gnocchi_exc.ConnectionTimeout('read timed out'),
        # Keystone answering 5xx while the token is renewed.
        ka_exc.http.ServiceUnavailable(),
    ],
)
def test_a_post_that_fails_for_now_keeps_the_batch(
    make_publisher, spool_dir, error
):
    fake = FakeGnocchi(fail_post=error)
    publisher = make_publisher(fake)
    publisher.publish_samples(samples())
    _wait_sent(publisher)
    assert [call[0] for call in fake.calls] == ['create', 'post', 'post']
    assert list(fake.posted[0][BACKUP]) == ['backup.size', 'backup']


def test_kept_batches_are_sent_by_the_next_agent_start(
    make_publisher, spool_dir
):
    # What an agent killed during an outage leaves.
    assert spool.Spool(str(spool_dir), outbox.MIB).put(samples_at(1, 2))
    fake = FakeGnocchi()
    _wait_sent(make_publisher(fake))
    assert _values(fake) == [1, 2]


def test_a_full_spool_drops_the_batch_with_one_error(
    make_publisher, spool_dir, caplog
):
    fake = FakeGnocchi()
    fake.unreachable = gnocchi_exc.ConnectionFailure('refused')
    publisher = make_publisher(fake)
    big = samples_at(*range(60)) * 100  # over the spool's 1 MiB
    with caplog.at_level(logging.ERROR):
        publisher.publish_samples(big)
    (error,) = _published_lines(caplog)
    assert error == (
        f'Gnocchi could not take {len(big)} backup samples and the spool '
        'is full (1 MiB): dropped'
    )
    assert _kept(spool_dir) == []


def test_an_unreadable_kept_batch_is_set_aside(
    make_publisher, spool_dir, caplog
):
    spool_dir.mkdir()
    (spool_dir / '00000000000000000001-1-00000000.json').write_text('{')
    fake = FakeGnocchi()
    with caplog.at_level(logging.ERROR):
        _wait_sent(make_publisher(fake))
    assert (
        spool_dir / '00000000000000000001-1-00000000.json.unreadable'
    ).exists()
    (error,) = _published_lines(caplog)
    assert 'cannot be sent to Gnocchi' in error
    assert 'set aside as' in error
    assert fake.posted == []


def test_a_kept_batch_the_publisher_cannot_send_is_set_aside(
    make_publisher, spool_dir, monkeypatch, caplog
):
    assert spool.Spool(str(spool_dir), outbox.MIB).put(samples_at(1))
    monkeypatch.setattr(
        backup_publisher.BackupGnocchiPublisher,
        '_post',
        lambda self, data: 1 / 0,
    )
    with caplog.at_level(logging.ERROR):
        _wait_sent(make_publisher(FakeGnocchi()))
    (name,) = [n for n in os.listdir(spool_dir) if n.endswith(spool.REFUSED)]
    (error,) = _published_lines(caplog)
    assert error == (
        'Kept backup samples cannot be sent to Gnocchi (division by zero): '
        f'set aside as {spool_dir / name}'
    )


def test_a_spool_directory_that_cannot_be_made_stops_the_publisher(
    make_publisher, spool_dir
):
    spool_dir.write_text('a file')
    with pytest.raises(RuntimeError, match='spool_dir .* cannot be used'):
        make_publisher(FakeGnocchi())


def test_a_batch_gnocchi_refuses_for_good_is_dropped_with_its_count(
    make_publisher, caplog
):
    fake = FakeGnocchi(
        fail_post=gnocchi_exc.BadRequest(400, {'cause': 'Invalid input'})
    )
    publisher = make_publisher(fake)
    with caplog.at_level(logging.WARNING):
        publisher.publish_samples(samples())
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'refused 2 measures of 1 backups; dropped' in warning


def test_a_redelivered_batch_is_not_posted_twice(make_publisher):
    fake = FakeGnocchi()
    publisher = make_publisher(fake)
    batch = samples()
    publisher.publish_samples(batch)
    publisher.publish_samples(batch)  # same sample ids
    assert [call[0] for call in fake.calls] == ['create', 'post']


def test_a_deletion_ends_the_resource_in_the_same_retried_path(
    make_publisher,
):
    fake = FakeGnocchi()
    publisher = make_publisher(fake)
    deleted = [
        ceilometer_sample.Sample(
            **dict(
                s.as_dict(),
                resource_metadata={'event_type': 'backup.delete.end'},
                timestamp='2026-11-25T02:00:00+00:00',
            )
        )
        for s in samples()
    ]
    publisher.publish_samples(samples() + deleted)
    # A millisecond after its last measure: Gnocchi takes back an end
    # that is not after every measure.
    assert fake.resources[BACKUP]['ended_at'] == (
        '2026-11-25T02:00:00.001000+00:00'
    )
    # Created late (after an outage), it starts at its first measure.
    assert fake.resources[BACKUP]['started_at'] == '2026-11-25T01:02:03+00:00'


def _without(monkeypatch, name):
    """This Ceilometer's Gnocchi publisher without ``name``, as a release
    that renamed it: gone when the publisher is loaded; what it held is
    returned, for upstream's own code to keep working under its new name."""
    kept = {}
    if callable(getattr(upstream.GnocchiPublisher, name, None)):
        kept['value'] = getattr(upstream.GnocchiPublisher, name)
        monkeypatch.delattr(upstream.GnocchiPublisher, name)
        return kept
    original = upstream.GnocchiPublisher.__init__

    def init(self, *args):
        original(self, *args)
        kept['value'] = vars(self).pop(name)

    monkeypatch.setattr(upstream.GnocchiPublisher, '__init__', init)
    return kept


@pytest.mark.parametrize('symbol', inventory.SYMBOLS, ids=str)
def test_a_missing_upstream_internal_is_named_once_when_loaded(
    make_publisher, monkeypatch, caplog, symbol
):
    _without(monkeypatch, symbol.name)
    with caplog.at_level(logging.ERROR):
        make_publisher(FakeGnocchi())
    (error,) = _published_lines(caplog)
    assert error == (
        f'Ceilometer {version.version_info.version_string()} has no '
        f'GnocchiPublisher.{symbol.name}: {symbol.feature}'
    )


def _renamed(make_publisher, monkeypatch, name):
    """A publisher loaded without ``name``, and its Gnocchi; upstream's
    own code finds it again, as under its new name."""
    renamed = _without(monkeypatch, name)
    fake = FakeGnocchi()
    publisher = make_publisher(fake)
    setattr(publisher, name, renamed['value'])
    return publisher, fake


def test_without_its_resource_internals_new_resources_go_upstreams_way(
    make_publisher, monkeypatch
):
    publisher, fake = _renamed(make_publisher, monkeypatch, '_hash_resource')
    publisher.publish_samples(samples())
    assert [call[0] for call in fake.calls] == ['post', 'create', 'post']
    assert 'metrics' not in fake.calls[1][2]


def test_without_its_metric_map_deleted_backups_are_not_ended_here(
    make_publisher, monkeypatch
):
    publisher, fake = _renamed(make_publisher, monkeypatch, 'metric_map')
    deleted = [
        ceilometer_sample.Sample(
            **dict(
                s.as_dict(),
                resource_metadata={'event_type': 'backup.delete.end'},
            )
        )
        for s in samples()
    ]
    publisher.publish_samples(deleted)
    assert fake.posted, 'the measures still go'
    assert fake.resources[BACKUP]['ended_at'] is None


def test_without_its_gnocchi_client_batches_go_and_nothing_reads_it(
    make_publisher, monkeypatch, spool_dir
):
    """A release that renamed ``_gnocchi`` posts through its new name
    (upstream's publish_samples, here a recorder); the publisher, ending
    nothing then, never reads the old one."""
    _without(monkeypatch, '_gnocchi')
    posted = []
    monkeypatch.setattr(
        upstream.GnocchiPublisher,
        'publish_samples',
        lambda self, data: posted.append(data),
    )
    publisher = make_publisher(FakeGnocchi())
    del publisher._gnocchi
    batch = samples()
    publisher.publish_samples(batch)
    publisher.publish_samples(batch)  # posted once: nothing kept to resend
    assert posted == [batch]
    assert _kept(spool_dir) == []
