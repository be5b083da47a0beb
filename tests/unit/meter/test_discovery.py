import datetime
import logging
import sys
import types
from importlib import metadata

import pytest
from ceilometer import sample as sample_module
from ceilometer.polling import manager
from cinderclient.apiclient import base as cinderclient_base

from ceilometer_backup.meter import cinder, discovery, meters, pollster
from ceilometer_backup.meter.sample import BackupNotifications
from ceilometer_backup.upstream import ceilometer as ceilometer_inventory
from ceilometer_backup.upstream import cinderclient
from testcloud.tls import CertificateAuthority
from tests.support import config
from tests.support.openstack_api import (
    ADMIN_PROJECT,
    LISTED_AT,
    PASSWORD,
    PROJECT_ATTR,
    TOKEN_PREFIX,
    FakeOpenStack,
    make_backups,
)


def _discover(api, tmp_path, **credentials):
    conf = config.polling_conf(api, str(tmp_path), **credentials)
    return discovery.BackupDiscovery(conf)


@pytest.mark.parametrize('count', [0, 1, 1000, 2500, 25000])
def test_every_page_of_every_project(tmp_path, count):
    with FakeOpenStack(make_backups(count)) as api:
        records = _discover(api, tmp_path).discover(None)
        pages = api.backup_pages()
    assert [str(r) for r in records] == [b['id'] for b in api.backups]
    # Full pages of 1000, then the short (possibly empty) last one.
    assert len(pages) == count // 1000 + 1
    assert all('all_tenants=1' in page for page in pages)
    if count:
        assert {r.project_id for r in records} == {
            b['os-backup-project-attr:project_id'] for b in api.backups
        }


def test_page_size_option(tmp_path):
    with FakeOpenStack(make_backups(25)) as api:
        disc = _discover(api, tmp_path)
        disc.conf.set_override('page_size', 10, 'backup_polling')
        assert len(disc.discover(None)) == 25
        assert len(api.backup_pages()) == 3


def test_deleted_backups_are_not_sampled(tmp_path):
    with FakeOpenStack(make_backups(5, deleted=4)) as api:
        records = _discover(api, tmp_path).discover(None)
    assert len(records) == 5
    assert {r.metadata['status'] for r in records} == {'available'}


def test_record_is_compact_and_hashes_by_id(tmp_path):
    raw = make_backups(1)[0]
    record = cinder.BackupRecord.from_api(raw, LISTED_AT)
    assert str(record) == raw['id']
    assert record == cinder.BackupRecord.from_api(dict(raw), LISTED_AT)
    assert len({record, cinder.BackupRecord.from_api(raw, LISTED_AT)}) == 1
    assert not hasattr(record, '__dict__')
    assert sys.getsizeof(record) < 100


def test_old_cinder_falls_back_once_with_one_log_line(tmp_path, caplog):
    with FakeOpenStack(make_backups(3), max_microversion='3.50') as api:
        disc = _discover(api, tmp_path)
        with caplog.at_level(logging.WARNING):
            first = disc.discover(None)
            second = disc.discover(None)
    assert len(first) == len(second) == 3
    assert first[0].user_id is None
    assert first[0].project_id == '0' * 32
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert '3.56' in warnings[0] and api.url in warnings[0]


def _without_info(monkeypatch):
    """This cinderclient, keeping a resource's fields under another name,
    as a release that renamed ``Resource._info``."""
    resource = cinderclient_base.Resource
    init, lookup = resource.__init__, resource.__getattr__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        vars(self)['_fields'] = vars(self).pop('_info')

    def __getattr__(self, name):
        if name == '_info':
            return vars(self)['_fields']
        return lookup(self, name)

    monkeypatch.setattr(resource, '__init__', __init__)
    monkeypatch.setattr(resource, '__getattr__', __getattr__)


def _listed(records):
    return [
        (str(r), r.project_id, r.user_id, r.size, r.metadata) for r in records
    ]


def _resource_made_otherwise(monkeypatch):
    """This cinderclient, its resources made with other arguments than
    the discovery's own check makes one with (the client's own listing
    unchanged)."""

    def resource(*args, **kwargs):
        raise TypeError('Resource() takes other arguments')

    monkeypatch.setattr(
        cinder, 'base', types.SimpleNamespace(Resource=resource)
    )


@pytest.mark.parametrize('release', [_without_info, _resource_made_otherwise])
def test_a_cinderclient_without_info_is_named_once_and_lists_alike(
    monkeypatch, tmp_path, caplog, release
):
    backups = make_backups(5, deleted=2)
    with FakeOpenStack(backups) as api:
        stock = _listed(_discover(api, tmp_path).discover(None))
        release(monkeypatch)
        with caplog.at_level(logging.ERROR):
            disc = _discover(api, tmp_path)
            degraded = _listed(disc.discover(None))
    (error,) = [r.getMessage() for r in caplog.records]
    assert error == (
        f'python-cinderclient {metadata.version("python-cinderclient")} '
        f'has no Resource._info: {cinderclient.INFO.feature}'
    )
    assert len(stock) == 5
    assert degraded == stock


def _fault(api, name):
    if name == 'keystone down':
        api.keystone_status = 503
    elif name == 'cinder 500':
        api.cinder_status = 500
    elif name == 'cinder 401':
        api.cinder_status = 401
    elif name == 'cinder slow':
        api.cinder_delay = 2.0


@pytest.mark.parametrize(
    'fault, named',
    [
        ('keystone down', '/identity/v3'),
        ('cinder 500', '/volume/v3/'),
        ('cinder 401', '/volume/v3/'),
        ('cinder slow', '/volume/v3/'),
    ],
)
def test_fault_is_one_error_per_cycle_and_the_next_cycle_recovers(
    tmp_path, caplog, fault, named
):
    with FakeOpenStack(make_backups(3)) as api:
        # An integer: keystoneauth's timeout option is one before 5.14.
        disc = _discover(api, tmp_path, timeout=1)
        _fault(api, fault)
        with caplog.at_level(logging.DEBUG):
            assert disc.discover(None) == []
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert named in errors[0].getMessage()
        assert errors[0].exc_info is None, 'no traceback'
        for record in caplog.records:
            text = record.getMessage()
            assert PASSWORD not in text
            assert TOKEN_PREFIX not in text
        api.keystone_status = api.cinder_status = None
        api.cinder_delay = 0
        assert len(disc.discover(None)) == 3


def test_wrong_password_is_one_error_without_the_password(tmp_path, caplog):
    with FakeOpenStack(make_backups(1)) as api:
        disc = _discover(api, tmp_path, password='wrong-' + PASSWORD)
        with caplog.at_level(logging.DEBUG):
            assert disc.discover(None) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= 40]
    assert len(errors) == 1
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)


def test_pollsters_match_the_notification_path(tmp_path):
    raw = make_backups(1)[0]
    record = cinder.BackupRecord.from_api(raw, LISTED_AT)
    samples = {}
    for cls in (pollster.BackupSizePollster, pollster.BackupPollster):
        (sample,) = cls(conf=None).get_samples(None, {}, [record])
        samples[sample.name] = sample
    size, existence = samples['backup.size'], samples['backup']
    assert (size.type, size.unit, size.volume) == ('gauge', 'GiB', 1)
    assert (existence.type, existence.unit, existence.volume) == (
        'gauge',
        'backup',
        1,
    )
    # The same backup as the notification path would describe it.
    payload = {
        'backup_id': raw['id'],
        'tenant_id': raw['os-backup-project-attr:project_id'],
        'user_id': raw['user_id'],
        'size': raw['size'],
        'display_name': raw['name'],
        **{k: raw[k] for k in ('volume_id', 'availability_zone', 'status')},
    }
    (notified, _) = BackupNotifications(None, None).build_sample(
        {
            'event_type': 'backup.exists',
            'payload': payload,
            'metadata': {'timestamp': '2026-11-25T00:00:00'},
        }
    )
    for polled in (existence, size):
        assert polled.resource_id == notified.resource_id
        assert polled.project_id == notified.project_id
        assert polled.user_id == notified.user_id
    for key in ('display_name', 'volume_id', 'availability_zone', 'status'):
        assert size.resource_metadata[key] == notified.resource_metadata[key]


def test_polled_samples_are_stamped_before_cinder_read_the_backups(
    tmp_path,
):
    """Through Ceilometer's own polling manager, which restamps polled
    samples after the listing: a backup deleted meanwhile would get a
    measure after its deletion."""
    polling = tmp_path / 'polling.yaml'
    polling.write_text(
        'sources:\n  - name: backups\n    interval: 600\n'
        '    meters: [backup.size, backup, backup.status]\n'
    )
    sent = []

    class Notifier:
        def sample(self, context, event_type, payload):
            sent.extend(payload['samples'])

    with FakeOpenStack(make_backups(3)) as api:
        api.cinder_delay = 0.2
        conf = config.polling_conf(api, str(tmp_path))
        conf.set_override('cfg_file', str(polling), 'polling')
        agent = manager.AgentManager(0, conf, namespaces=['central'])
        agent.notifier = Notifier()
        agent.polling_manager = manager.PollingManager(conf)
        (task,) = agent.setup_polling_tasks().values()
        task.poll_and_notify()
    assert len(sent) == 9
    (read_at,) = api.read_at
    assert all(
        datetime.datetime.fromisoformat(s['timestamp']) < read_at for s in sent
    )


def test_a_ceilometer_without_set_timestamp_is_named_once(
    monkeypatch, tmp_path, caplog
):
    monkeypatch.delattr(sample_module.Sample, 'set_timestamp')
    with FakeOpenStack(make_backups(2)) as api:
        with caplog.at_level(logging.ERROR):
            assert len(_discover(api, tmp_path).discover(None)) == 2
    (error,) = [r.getMessage() for r in caplog.records]
    (symbol,) = ceilometer_inventory.POLLED
    assert error == (
        f'Ceilometer {metadata.version("ceilometer")} has no '
        f'Sample.set_timestamp: {symbol.feature}'
    )


def test_a_backup_without_size_gives_no_size_sample():
    raw = dict(make_backups(1)[0], size=None)
    record = cinder.BackupRecord.from_api(raw, LISTED_AT)
    assert (
        list(pollster.BackupSizePollster(None).get_samples(None, {}, [record]))
        == []
    )
    (existence,) = pollster.BackupPollster(None).get_samples(
        None, {}, [record]
    )
    assert existence.name == meters.EXISTENCE.name


@pytest.mark.parametrize(
    'status, value',
    [
        ('available', 0),
        ('creating', 1),
        ('restoring', 2),
        ('deleting', 3),
        ('error', 4),
        ('backing-up', -1),
    ],
)
def test_the_status_as_a_value_and_as_alarm_state(status, value):
    record = cinder.BackupRecord.from_api(
        dict(make_backups(1)[0], status=status), LISTED_AT
    )
    (sample,) = pollster.BackupStatusPollster(None).get_samples(
        None, {}, [record]
    )
    assert (sample.name, sample.unit, sample.volume) == (
        'backup.status',
        'status',
        value,
    )
    # Ceilometer's Prometheus exporter labels it state="<status>".
    assert sample.resource_metadata['alarm_state'] == status
    assert 'alarm_state' not in record.metadata, 'the record is unchanged'


def test_a_backup_without_a_name_is_named_by_its_id():
    """Every polled series has the same labels in Prometheus."""
    for name in (None, ''):
        raw = dict(make_backups(1)[0], name=name)
        record = cinder.BackupRecord.from_api(raw, LISTED_AT)
        assert record.metadata['display_name'] == raw['id']


@pytest.mark.parametrize('own', [0, 2])
def test_credentials_without_admin_are_one_error_naming_the_role(
    tmp_path, caplog, own
):
    """Cinder lists them their own project's backups (``own`` of them),
    without projects: nothing is taken as the cloud's."""
    backups = make_backups(5)
    for backup in backups[:own]:
        backup[PROJECT_ATTR] = ADMIN_PROJECT
    with FakeOpenStack(backups) as api:
        api.roles = ['reader', 'service']
        disc = _discover(api, tmp_path)
        with caplog.at_level(logging.WARNING):
            assert disc.discover(None) == []
        api.roles = ['admin']
        assert len(disc.discover(None)) == 5
    (error,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error.levelno == logging.ERROR
    text = error.getMessage()
    seen = 'lists backups without their project' if own else 'lists no backup'
    assert f'Cinder {seen} to the [service_credentials] user ceilometer' in (
        text
    )
    assert '(roles: reader, service): without the admin role' in text
    assert 'Give that user the admin role in its project' in text


def test_an_empty_cloud_listed_to_admin_is_empty(tmp_path, caplog):
    with FakeOpenStack([]) as api:
        with caplog.at_level(logging.WARNING):
            assert _discover(api, tmp_path).discover(None) == []
    assert caplog.records == []


def test_a_tls_failure_is_one_line_naming_the_server_and_the_bundle(
    tmp_path, caplog
):
    """Keystone's URL says https, the server speaks plain HTTP: no TLS
    session, told without urllib3's retry chain or a credential."""
    authority = CertificateAuthority(str(tmp_path / 'ca'))
    with FakeOpenStack(make_backups(1)) as api:
        https = api.url.replace('http://', 'https://') + '/identity/v3'
        disc = _discover(
            api, tmp_path, auth_url=https, cafile=authority.cafile
        )
        with caplog.at_level(logging.WARNING):
            assert disc.discover(None) == []
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    text = error.getMessage()
    assert f'TLS to {https}' in text
    assert f'[service_credentials] cafile {authority.cafile}' in text
    assert '[SSL: ' in text
    assert 'HTTPSConnectionPool' not in text
    assert PASSWORD not in text


def test_a_policy_refusal_names_the_admin_role(tmp_path, caplog):
    """Keystone's service role alone: Cinder's policy refuses the list."""
    with FakeOpenStack(make_backups(3)) as api:
        api.roles = ['service']
        with caplog.at_level(logging.WARNING):
            assert _discover(api, tmp_path).discover(None) == []
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    text = error.getMessage()
    assert 'Cinder refuses to list backups (' in text
    assert 'backup:get_all' in text
    assert 'user ceilometer in project service (roles: service)' in text
    assert "Cinder lists every project's backups only to the admin role" in (
        text
    )
    assert 'Give that user the admin role in its project' in text
