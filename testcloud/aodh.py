"""Aodh 23 (from .venv-aodh) as processes the tests own, without Keystone.

- ``aodh-api`` with ``[api] auth_mode = noauth``: the caller is who the
  ``X-User-Id``, ``X-Project-Id`` and ``X-Roles`` headers say. Only an
  admin may give ``log://`` actions, and an admin may create an alarm in
  another project (``project_id`` in the body);
- ``aodh-listener``, evaluating event alarms on what arrives on the
  ``alarm.all`` topic (Ceilometer's ``notifier://?topic=alarm.all``);
- ``aodh-notifier``, running the actions of alarms whose state changed;
- with ``gnocchi`` credentials, ``aodh-evaluator`` too, evaluating
  threshold alarms on Gnocchi's measures every ``EVALUATION_INTERVAL``
  seconds (the API checks such an alarm's rule against Gnocchi as well);
- storage in SQLite, schema by ``aodh-dbsync``.

``Webhook`` records what the notifier POSTs to an ``http://`` action.

The listener evaluates each message in a thread of its own: events that
arrive together could all find the alarm not yet fired and fire it once
each. ``[listener] batch_size`` above 1 evaluates a batch in order.

tests/functional/test_aodh.py runs the whole chain. tools/provision.sh
installs Aodh in .venv-aodh.
"""

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler

from testcloud import servers
from testcloud.ground import ROOT

# The shipped stalled-backup alarm.
STALLED_ALARM = os.path.join(ROOT, 'etc', 'aodh', 'backup-stalled-alarm.json')
ADMIN = {
    'X-User-Id': 'aodh-test-admin',
    'X-Project-Id': 'aodh-test-admin-project',
    'X-Roles': 'admin',
}


class Webhook(servers.LoopbackHTTP):
    """A loopback HTTP server recording the JSON bodies POSTed to it."""

    def __init__(self):
        self.received = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = f'{self.url}/alarm'

    def wait(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return list(self.received)
            time.sleep(0.2)
        raise TimeoutError(f'{len(self.received)} of {count} notifications')


EVALUATION_INTERVAL = 2  # seconds; Aodh's default is 60
# aodh-listener keeps each project's event alarms this long (60 s by
# default): an alarm created within that time of an event of its project
# is not seen until then. The tests create alarms and fail backups at once.
EVENT_ALARM_CACHE_TTL = 0
# How far back, beyond the rule's periods, an evaluation looks for the
# last point: measures reach Gnocchi's aggregates seconds late (batches,
# metricd), and a rule of one-second periods would find none.
INGESTION_LAG = 10


class Aodh(servers.Service):
    """aodh-api, aodh-listener and aodh-notifier on ``transport_url``;
    aodh-evaluator too given ``gnocchi``, a [service_credentials] section
    for a Gnocchi (``Gnocchi.credentials()``)."""

    venv_name = 'aodh'

    def __init__(self, workdir, transport_url, batch_size=10, gnocchi=''):
        servers.require('Aodh', self.bin('aodh-listener'))
        self.services = ('aodh-listener', 'aodh-notifier')
        if gnocchi:
            self.services += ('aodh-evaluator',)
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.port = servers.free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.conf = os.path.join(workdir, 'aodh.conf')
        with open(self.conf, 'w') as f:
            f.write(
                f"""[DEFAULT]
transport_url = {transport_url}
use_stderr = true
additional_ingestion_lag = {INGESTION_LAG}
event_alarm_cache_ttl = {EVENT_ALARM_CACHE_TTL}
[api]
auth_mode = noauth
[database]
connection = sqlite:///{os.path.join(workdir, 'aodh.sqlite')}
[listener]
batch_size = {batch_size}
batch_timeout = 1
[notifier]
batch_timeout = 1
[evaluator]
evaluation_interval = {EVALUATION_INTERVAL}
{gnocchi}"""
            )
        self.processes = {}

    def log_of(self, name):
        return os.path.join(self.workdir, f'{name}.log')

    def start(self):
        servers.run([self.bin('aodh-dbsync'), '--config-file', self.conf])
        env = dict(os.environ)
        self.processes['aodh-api'] = servers.start(
            [
                self.bin('aodh-api'),
                '--host',
                '127.0.0.1',
                '--port',
                str(self.port),
                '--',
                '--config-file',
                self.conf,
            ],
            env,
            self.log_of('aodh-api'),
        )
        for name in self.services:
            self.processes[name] = servers.start(
                [self.bin(name), '--config-file', self.conf],
                env,
                self.log_of(name),
            )
        # Nothing to wait for but the API: whoever sends to alarm.all (or
        # alarming) declares the queue the listener (or notifier) reads.
        servers.wait_for_port(self.port, self.processes['aodh-api'], 60)
        return self

    def stop(self):
        for process in self.processes.values():
            servers.stop(process)
        self.processes = {}

    def check_alive(self):
        servers.check_alive(self.processes, self.log_of)

    def request(self, method, path, body=None, headers=ADMIN):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f'{self.url}{path}',
            data=data,
            method=method,
            headers={'Content-Type': 'application/json', **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(
                f'{method} {path}: {e.code} {e.read()[:500]!r}'
            ) from e
        return json.loads(text) if text else None

    def create_event_alarm(
        self, project_id, event_type, actions, query=(), repeat=False
    ):
        """An event alarm of ``project_id``, created by an admin."""
        return self.create_alarm(
            {
                'name': f'{event_type} in {project_id}',
                'type': 'event',
                'severity': 'critical',
                'project_id': project_id,
                'user_id': uuid.uuid4().hex,
                'event_rule': {'event_type': event_type, 'query': list(query)},
                'alarm_actions': list(actions),
                'repeat_actions': repeat,
            },
        )

    def create_alarm(self, body):
        return self.request('POST', '/v2/alarms', body)

    def create_stalled_alarm(self, action, threshold):
        """The shipped stalled-backup alarm on a test's time scale (a 1 s
        granularity, ``threshold`` seconds), calling ``action`` when it
        fires; its id."""
        with open(STALLED_ALARM) as f:
            body = json.load(f)
        rule = body['gnocchi_aggregation_by_resources_threshold_rule']
        rule.update(granularity=1, threshold=threshold)
        body.update(alarm_actions=[action], ok_actions=[])
        return self.create_alarm(body)['alarm_id']

    def alarm(self, alarm_id):
        return self.request('GET', f'/v2/alarms/{alarm_id}')
