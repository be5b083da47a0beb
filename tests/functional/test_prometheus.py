"""A real Prometheus scraping ceilometer-polling's exporter, with the rules
of etc/prometheus/backup.rules.yml, over a loopback Keystone and Cinder.

The central agent polls this project's ``backup.size``, ``backup`` and
``backup.status``, whose sample metadata carries the status as
``alarm_state``: the one metadata key from which Ceilometer's exporter
makes a label (``state``) for any meter. Among the backups the API lists,
one has no name: every series must still have the same labels.
Prometheus answers through its HTTP API.
"""

import collections
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml
from ceilometer.sample import Sample

from ceilometer_backup.meter.gnocchi import spool
from testcloud import servers
from testcloud.ceilometer_services import PollingAgent
from testcloud.ground import ROOT
from tests.support import config, tenant_input
from tests.support.openstack_api import (
    FakeOpenStack,
    backup_service,
    make_backups,
)

PROMETHEUS = '/usr/bin/prometheus'
PROMTOOL = '/usr/bin/promtool'
RULES_DIR = os.path.join(ROOT, 'etc', 'prometheus')
RULES = os.path.join(RULES_DIR, 'backup.rules.yml')
RULE_TESTS = os.path.join(RULES_DIR, 'backup.rules.test.yml')
DASHBOARD = os.path.join(
    ROOT, 'etc', 'grafana', 'ceilometer-backup-dashboard.json'
)
SKIPPED = ('deleted', 'error_deleting')

# What the exporter makes of a polled backup sample: every label it has.
EXPORTER_LABELS = {
    'backup',
    'publisher',
    'type',
    'counter',
    'project',
    'user',
    'unit',
    'resource',
    'resource_name',
    'server_group',
}
# And what Prometheus adds.
TARGET_LABELS = {'__name__', 'instance', 'job'}


class Prometheus:
    """A Prometheus of the test's own: data dir, port, 1 s scrapes."""

    def __init__(self, workdir, target):
        os.makedirs(workdir, exist_ok=True)
        self.port = servers.free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log = os.path.join(workdir, 'prometheus.log')
        self.conf = os.path.join(workdir, 'prometheus.yml')
        with open(self.conf, 'w') as f:
            yaml.safe_dump(
                {
                    'global': {
                        'scrape_interval': '1s',
                        'scrape_timeout': '1s',
                        'evaluation_interval': '1s',
                    },
                    'rule_files': [RULES],
                    'scrape_configs': [
                        {
                            'job_name': 'ceilometer-central',
                            'static_configs': [{'targets': [target]}],
                        }
                    ],
                },
                f,
            )
        self.argv = [
            PROMETHEUS,
            f'--config.file={self.conf}',
            f'--storage.tsdb.path={os.path.join(workdir, "data")}',
            f'--web.listen-address=127.0.0.1:{self.port}',
            '--log.level=warn',
        ]
        self.process = None

    def start(self):
        self.process = servers.start(self.argv, dict(os.environ), self.log)
        servers.wait_for_port(self.port, self.process, 30)
        self.wait(lambda: self._get('/-/ready') is not None, 'ready')

    def stop(self):
        servers.stop(self.process)

    def _get(self, path, **params):
        url = f'{self.url}{path}'
        if params:
            url += '?' + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
        except OSError:
            return None
        return json.loads(body) if path.startswith('/api/') else body

    def query(self, promql):
        """The instant vector of ``promql``: [(labels, value)]."""
        answer = self._get('/api/v1/query', query=promql)
        assert answer['status'] == 'success', answer
        return [
            (r['metric'], float(r['value'][1]))
            for r in answer['data']['result']
        ]

    def alerts(self, name):
        answer = self._get('/api/v1/alerts')
        return [
            a
            for a in answer['data']['alerts']
            if a['labels'].get('alertname') == name
        ]

    def wait(self, predicate, what, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'prometheus exited, see {self.log}')
            result = predicate()
            if result:
                return result
            time.sleep(0.5)
        raise TimeoutError(f'{what}: not in {timeout}s, see {self.log}')


def _polled(backups):
    return [b for b in backups if b['status'] not in SKIPPED]


def _gib_per_project(backups):
    sums = {}
    for b in _polled(backups):
        project = b['os-backup-project-attr:project_id']
        sums[project] = sums.get(project, 0) + b['size']
    return sums


@pytest.fixture(scope='module')
def api():
    backups = make_backups(1010, deleted=4, projects=4)
    backups[0]['name'] = None  # Cinder allows it
    backups[1]['name'] = tenant_input.NAME
    with FakeOpenStack(backups) as api:
        yield api


@pytest.fixture(scope='module')
def exporter(rabbitmq, api, tmp_path_factory):
    """ceilometer-polling --polling-namespaces central, exporter on."""
    workdir = tmp_path_factory.mktemp('polling')
    port = servers.free_port()
    agent = PollingAgent(
        str(workdir),
        rabbitmq.url,
        config.credentials(api),
        host='central-prometheus',
        extra='[polling]\nenable_prometheus_exporter = true\n'
        f'prometheus_listen_addresses = 127.0.0.1:{port}\n'
        # Where a notification agent on this host would keep its spool.
        f'[backup_gnocchi]\nspool_dir = {workdir / "spool"}\n',
    )
    agent.start()
    try:
        servers.wait_for_port(port, agent.process, 60)
        yield agent, f'127.0.0.1:{port}'
    finally:
        agent.stop()
    log = agent.log_text()
    assert 'Traceback' not in log, f'see {agent.log}'


@pytest.fixture(scope='module')
def prometheus(exporter, tmp_path_factory):
    server = Prometheus(
        str(tmp_path_factory.mktemp('prometheus')), exporter[1]
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _series_count(prometheus, metric, count):
    def check():
        series = prometheus.query(metric)
        return series if len(series) == count else None

    return check


def test_exporter_labels_of_polled_backups(api, prometheus):
    polled = _polled(api.backups)
    series = prometheus.wait(
        _series_count(prometheus, 'ceilometer_backup_size', len(polled)),
        'a backup.size series per backup',
    )
    by_id = {b['id']: b for b in polled}
    for labels, value in series:
        backup = by_id[labels['resource']]
        assert set(labels) == EXPORTER_LABELS | TARGET_LABELS
        assert value == backup['size']
        assert labels['backup'] == backup['id']
        assert labels['project'] == backup['os-backup-project-attr:project_id']
        assert labels['resource_name'] == (backup['name'] or backup['id'])
        assert labels['unit'] == 'GiB'
        assert labels['type'] == 'size'
        assert labels['counter'] == 'backup.size'
        assert labels['server_group'] == 'none'
    # Of the metadata, only the name: no status, volume_id, incremental.
    series = prometheus.wait(
        _series_count(prometheus, 'ceilometer_backup', len(polled)),
        'a backup series per backup',
    )
    assert {v for _, v in series} == {1}
    assert all(set(s) == EXPORTER_LABELS | TARGET_LABELS for s, _ in series)
    # backup.status has a state label besides.
    series = prometheus.wait(
        _series_count(prometheus, 'ceilometer_backup_status', len(polled)),
        'a backup.status series per backup',
    )
    wanted = EXPORTER_LABELS | {'state'}
    for labels, value in series:
        assert set(labels) == wanted | TARGET_LABELS
        assert labels['state'] == 'available' and value == 0


def test_recording_rule_gib_per_project(api, prometheus):
    wanted = _gib_per_project(api.backups)
    assert len(wanted) == 4

    def matches():
        got = {
            labels['project']: value
            for labels, value in prometheus.query(
                'project:ceilometer_backup_size_gib:sum'
            )
        }
        return got if got == wanted else None

    prometheus.wait(matches, f'GiB per project {wanted}')
    counts = {
        labels['project']: value
        for labels, value in prometheus.query(
            'project:ceilometer_backups:count'
        )
    }
    assert sum(counts.values()) == len(_polled(api.backups))


def test_backup_in_error_alerts(api, prometheus):
    assert prometheus.alerts('CinderBackupError') == []
    backup = api.backups[7]
    project = backup['os-backup-project-attr:project_id']
    backup.update(status='error', fail_reason='Backup driver failed')
    try:
        alerts = prometheus.wait(
            lambda: prometheus.alerts('CinderBackupError'),
            'a CinderBackupError alert',
        )
        # Pending: the rule's `for` is 5 minutes.
        assert len(alerts) == 1
        (alert,) = alerts
        assert alert['state'] in ('pending', 'firing')
        assert alert['labels']['resource'] == backup['id']
        assert alert['labels']['project'] == project
        assert alert['labels']['state'] == 'error'
        assert float(alert['value']) == 4
        (active,) = prometheus.wait(
            lambda: prometheus.query('ALERTS{alertname="CinderBackupError"}'),
            'an ALERTS series',
        )
        assert active[0]['resource'] == backup['id']
        # A scrape during the exporter's refill misses the series: wait.
        selected = prometheus.wait(
            lambda: prometheus.query(
                'ceilometer_backup_status{state="error"}'
            ),
            'the error series',
        )
        assert [labels['resource'] for labels, _ in selected] == [backup['id']]
        # Still counted in the project's GiB, as Cinder counts it (the rule
        # bridges a refill).
        gib = prometheus.query(
            f'project:ceilometer_backup_size_gib:sum{{project="{project}"}}'
        )
        assert gib[0][1] == _gib_per_project(api.backups)[project]
    finally:
        backup.update(status='available', fail_reason=None)


def test_a_tenants_awkward_name_is_a_label_value_as_written(
    api, exporter, prometheus
):
    """Quotes, backslashes, a newline, braces, ``#`` and 255 multibyte
    characters: the scrape still parses, the label is the name."""
    named = api.backups[1]
    series = prometheus.wait(
        lambda: prometheus.query(
            f'ceilometer_backup_size{{backup="{named["id"]}"}}'
        ),
        'the awkwardly named backup',
    )
    assert [labels['resource_name'] for labels, _ in series] == [
        tenant_input.NAME
    ]
    with urllib.request.urlopen(
        f'http://{exporter[1]}/metrics', timeout=10
    ) as response:
        scrape = response.read()
    assert tenant_input.MARKER.encode() in scrape
    checked = subprocess.run(
        [PROMTOOL, 'check', 'metrics'],
        input=scrape,
        capture_output=True,
        timeout=120,
    )
    # promtool also lints names (exit 1 for Ceilometer's own); a format
    # error is what a tenant's string could cause.
    assert b'parsing error' not in checked.stdout + checked.stderr
    assert tenant_input.MARKER not in exporter[0].log_text()


def test_the_spool_of_the_host_is_a_gauge(exporter, prometheus):
    """What the notification agent on the host keeps for Gnocchi, as the
    central agent there samples it: the bytes of its batch files."""
    agent, _ = exporter
    directory = os.path.join(agent.workdir, 'spool')
    kept = spool.Spool(directory, 64 * 1024**2)
    query = 'ceilometer_backup_spool_size{resource="central-prometheus"}'

    def scraped(size):
        series = prometheus.query(query)
        return series if [v for _, v in series] == [size] else None

    prometheus.wait(lambda: scraped(0), 'an empty spool')
    for n in range(5):
        assert kept.put([_spooled(n)] * 100)
    on_disk = sum(
        os.stat(os.path.join(directory, name)).st_size
        for name in kept.batches()
    )
    assert on_disk > 5 * 100 * 100
    ((labels, _),) = prometheus.wait(lambda: scraped(on_disk), 'the batches')
    assert labels['unit'] == 'B'
    assert 'project' not in labels
    for name in kept.batches():
        kept.remove(name)
    prometheus.wait(lambda: scraped(0), 'the spool sent')


def _spooled(n):
    return Sample(
        name='backup.size', type='gauge', unit='GiB', volume=n,
        user_id='u', project_id='p', resource_id=f'backup-{n}',
        timestamp='2026-12-07T00:00:00', resource_metadata={},
    )  # fmt: skip


DOWN_FOR = 300  # seconds since the stalled backup's host reported


def test_every_dashboard_panel_returns_its_series(api, exporter, prometheus):
    """The shipped Grafana dashboard's queries, each as its panel asks
    it, against what the cloud lists: a backup restoring on a live host,
    one being created on a host Cinder counts as down, one in error."""
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    query = {p['title']: p['targets'][0]['expr'] for p in dashboard['panels']}
    assert all(
        p['datasource']['uid'] == '${datasource}' for p in dashboard['panels']
    )
    restoring, stalled = api.backups[20:22]
    # The one the alert test puts in error: the panel keeps a backup for
    # 3 minutes after it left the error state.
    failed = api.backups[7]
    before = [dict(b) for b in (restoring, stalled, failed)]
    restoring['status'], stalled['status'] = 'restoring', 'creating'
    failed.update(status='error', fail_reason='Backup driver failed')
    api.backup_hosts = {restoring['id']: 'alive', stalled['id']: 'dead'}
    api.services = [
        backup_service('alive', 'up', 1),
        backup_service('dead', 'down', DOWN_FOR),
    ]
    # The spool of a notification agent on the agent's host, empty.
    spool.Spool(os.path.join(exporter[0].workdir, 'spool'), 1024**2)

    def project(backup):
        return backup['os-backup-project-attr:project_id']

    def by(labels, *keys):
        return lambda series: (
            {tuple(s[k] for k in labels): v for s, v in series} == dict(keys)
        )

    running = collections.Counter(
        (project(b), b['status']) for b in (restoring, stalled)
    )
    counts = collections.Counter(project(b) for b in _polled(api.backups))
    expected = {
        'Backups per project': by(
            ['project'], *(((p,), n) for p, n in counts.items())
        ),
        'Backup GiB per project': by(
            ['project'],
            *(((p,), g) for p, g in _gib_per_project(api.backups).items()),
        ),
        'Backups being created or restored': by(
            ['project', 'state'], *running.items()
        ),
        'Stalled: backup host down': lambda series: (
            [
                (s['resource'], s['vm_instance'], s['project'])
                for s, v in series
                if v >= DOWN_FOR
            ]
            == [(stalled['id'], 'dead', project(stalled))]
        ),
        'Backups in error': by(
            ['project', 'resource'], ((project(failed), failed['id']), 4)
        ),
        'Samples kept for Gnocchi, per host': by(
            ['resource'], (('central-prometheus',), 0)
        ),
        'Backup alerts': lambda series: (
            [(s['alertname'], s['resource']) for s, _ in series]
            == [('CinderBackupError', failed['id'])]
        ),
    }
    assert sorted(query) == sorted(expected)
    try:
        for title, check in expected.items():
            prometheus.wait(
                lambda c=check, q=query[title]: c(prometheus.query(q)), title
            )
    finally:
        for backup, was in zip(
            (restoring, stalled, failed), before, strict=True
        ):
            backup.clear()
            backup.update(was)
        api.backup_hosts, api.services = {}, []


def test_promtool_checks_and_unit_tests_the_rules():
    for argv in (
        [PROMTOOL, 'check', 'rules', RULES],
        [PROMTOOL, 'test', 'rules', RULE_TESTS],
    ):
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert 'SUCCESS' in done.stdout
