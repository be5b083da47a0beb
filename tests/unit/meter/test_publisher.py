"""backup-gnocchi:// against a recording stand-in for Gnocchi's API.

The publisher is the real one, loaded through Ceilometer's entry point;
only its gnocchiclient is replaced. tests/functional/test_gnocchi_stack.py
runs it against a real Gnocchi.
"""

import logging

import pytest
from ceilometer import publisher as ceilometer_publisher
from ceilometer import sample as ceilometer_sample
from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup.cmd import gnocchi
from ceilometer_backup.meter import publisher as backup_publisher
from tests.support import config
from tests.support.fake_gnocchi import FakeGnocchi

BACKUP = '1b6e4d0a-6f0c-4d43-9f43-6c3c1fb5b6a1'


@pytest.fixture
def make_publisher(tmp_path):
    # Gnocchi's basic auth: the publisher builds its clients offline.
    conf_file = tmp_path / 'ceilometer.conf'
    conf_file.write_text(
        '[service_credentials]\nauth_type = gnocchi-basic\nuser = admin\n'
        'endpoint = http://127.0.0.1:9\n'
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
    assert resource_type == gnocchi.RESOURCE_TYPE
    assert resource['display_name'] == 'nightly'
    assert resource['project_id'] == 'project-1'
    assert resource['metrics'] == {
        'backup.size': {'archive_policy_name': 'ceilometer-low', 'unit': 'GB'},
        'backup': {'archive_policy_name': 'ceilometer-low', 'unit': 'backup'},
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


def test_gnocchi_unreachable_hands_the_batch_back_without_a_traceback(
    make_publisher, caplog
):
    fake = FakeGnocchi(fail_create=gnocchi_exc.ConnectionFailure('refused'))
    publisher = make_publisher(fake)
    with caplog.at_level(logging.DEBUG):
        publisher.publish_samples(samples())
    # No post, no attribute update: the whole batch comes back.
    assert [call[0] for call in fake.calls] == ['create']
    assert isinstance(
        backup_publisher.undelivered(), gnocchi_exc.ConnectionFailure
    )
    assert backup_publisher.undelivered() is None, 'asked once'
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # Gnocchi is back: the same batch goes through whole.
    publisher.publish_samples(samples())
    assert backup_publisher.undelivered() is None
    assert [call[0] for call in fake.calls] == ['create', 'create', 'post']


@pytest.mark.parametrize(
    'error',
    [
        gnocchi_exc.ClientException(503, 'Service Unavailable'),
        gnocchi_exc.ConnectionTimeout('read timed out'),
    ],
)
def test_a_post_that_fails_for_now_hands_the_batch_back(make_publisher, error):
    fake = FakeGnocchi(fail_post=error)
    publisher = make_publisher(fake)
    publisher.publish_samples(samples())
    assert backup_publisher.undelivered() is error
    assert [call[0] for call in fake.calls] == ['create', 'post']


def test_a_batch_gnocchi_refuses_for_good_is_dropped_with_its_count(
    make_publisher, caplog
):
    fake = FakeGnocchi(
        fail_post=gnocchi_exc.BadRequest(400, {'cause': 'Invalid input'})
    )
    publisher = make_publisher(fake)
    with caplog.at_level(logging.WARNING):
        publisher.publish_samples(samples())
    assert backup_publisher.undelivered() is None
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
