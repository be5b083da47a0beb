"""Gnocchi 4.7.1 (API under uwsgi, and metricd) as processes the tests own.

Gnocchi lives in a virtualenv of its own (``servers.VENVS``): its pins
need not agree with Cinder's and Ceilometer's. The API authenticates in
``basic`` mode, so no Keystone is needed; storage is files; metricd
processes measures every second. Coordination is tooz's file driver (one
host) unless a ``coordination_url`` is given (several metricd, as on
several controllers, share the sacks through it): Gnocchi's default, the
PostgreSQL indexer, opens and closes a connection for every sack lock, 128
a second here, which alone keeps half a core busy forking backends.

Given a CertificateAuthority (testcloud.tls), the API serves HTTPS
only: gnocchi-api starts uwsgi with plain HTTP, so uwsgi runs Gnocchi's
WSGI module itself, as a deployment's own web server does. Given a
Keystone (testcloud.keystone), the API authenticates there instead
(``auth_mode = keystone``, keystonemiddleware as the ``gnocchi`` user),
is in its catalog as ``metric``, and clients use Keystone credentials.
"""

import glob
import json
import os
import time

from gnocchiclient import auth as gnocchi_auth
from gnocchiclient.v1 import client as gnocchi_client

from testcloud import servers
from testcloud.ground import service_credentials


class Gnocchi(servers.Service):
    venv_name = 'gnocchi'

    def __init__(
        self,
        workdir,
        indexer_url,
        tls=None,
        keystone=None,
        address=None,
        metricd=1,
        coordination_url=None,
    ):
        """``address``: where the API listens (a testcloud.hosts Network's
        for its hosts to reach; loopback by default); ``metricd``: how
        many ``gnocchi-metricd`` run, sharing the sacks through
        ``coordination_url`` (tooz's; none: the file driver, one host)."""
        if metricd > 1 and not coordination_url:
            raise ValueError('several metricd need a coordination_url')
        servers.require('Gnocchi', self.bin('gnocchi-api'))
        if tls and address:
            raise ValueError('Gnocchi on HTTPS listens on loopback only')
        self.workdir = workdir
        self.indexer_url = indexer_url
        self.port = servers.free_port()
        self.tls = tls
        self.keystone = keystone
        self.metricd = metricd
        self.address = address or '127.0.0.1'
        self.url = f'{"https" if tls else "http"}://{self.address}:{self.port}'
        self.conf = os.path.join(workdir, 'gnocchi.conf')
        self.log = os.path.join(workdir, 'gnocchi.out')
        os.makedirs(os.path.join(workdir, 'storage'), exist_ok=True)
        with open(self.conf, 'w') as f:
            f.write(
                f"""[DEFAULT]
log_file = {workdir}/gnocchi.log
coordination_url = {coordination_url or f'file://{workdir}/locks'}
[api]
auth_mode = {'keystone' if keystone else 'basic'}
host = {self.address}
port = {self.port}
[indexer]
url = {indexer_url}
[storage]
driver = file
file_basepath = {workdir}/storage
[metricd]
metric_processing_delay = 1
workers = 1
{self._authtoken()}"""
            )
        self.env = dict(
            os.environ, PATH=f'{self.venv}/bin:{os.environ.get("PATH", "")}'
        )
        self.processes = []

    def _authtoken(self):
        """keystonemiddleware's options. It reads them from the files of
        project ``gnocchi`` (/etc/gnocchi/...) unless Gnocchi's paste file
        names one: a copy of Gnocchi's names this configuration."""
        if not self.keystone:
            return ''
        (shipped,) = glob.glob(
            f'{self.venv}/lib/python3*/site-packages/gnocchi/rest/api-paste.ini'
        )
        paste = os.path.join(self.workdir, 'api-paste.ini')
        with open(shipped) as f:
            text = f.read()
        named = 'use = egg:keystonemiddleware#auth_token\n'
        assert text.count(named) == 1, shipped
        with open(paste, 'w') as f:
            f.write(
                text.replace(named, f'{named}oslo_config_file = {self.conf}\n')
            )
        user = self.keystone.credentials('gnocchi')
        return (
            f'[api]\npaste_config = {paste}\n[keystone_authtoken]\n'
            'auth_type = password\n'
            + ''.join(
                f'{key} = {value}\n'
                for key, value in {
                    **user,
                    'www_authenticate_uri': user['auth_url'],
                    'cafile': self.tls.cafile if self.tls else '',
                }.items()
            )
        )

    def _run(self, name):
        process = servers.start(
            [self.bin(name), '--config-file', self.conf],
            self.env,
            self.log,
        )
        self.processes.append(process)
        return process

    def start(self):
        if self.keystone:
            self.keystone.register_service('metric', 'gnocchi', self.url)
        upgrade = self._run('gnocchi-upgrade')
        if upgrade.wait(120):
            raise RuntimeError(f'gnocchi-upgrade failed, see {self.log}')
        self.processes.remove(upgrade)
        for _ in range(self.metricd):
            self._run('gnocchi-metricd')
        self.start_api()
        return self

    def start_api(self):
        if self.tls:
            self.api = self._https_api()
        else:
            self.api = self._run('gnocchi-api')
        servers.wait_for_port(self.port, self.api, 60, self.address)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().build.get()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def _https_api(self):
        process = servers.start(
            servers.uwsgi(
                self.venv, self.port, 'gnocchi.rest.wsgi:application',
                self.tls,
                '--pyargv', f'--config-file {self.conf}',
            ),
            self.env,
            self.log,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def stop_api(self):
        """An outage: the API goes, metricd and the database stay."""
        servers.stop(self.api, timeout=3)
        self.processes.remove(self.api)

    def credentials(self, section='service_credentials', user='ceilometer'):
        """A Ceilometer config section authenticating to this Gnocchi (as
        Keystone's ``user`` when behind Keystone)."""
        cafile = f'cafile = {self.tls.cafile}\n' if self.tls else ''
        if self.keystone:
            lines = service_credentials(
                **self.keystone.credentials(user)
            ).split('\n', 1)[1]
        else:
            lines = 'auth_type = gnocchi-basic\nuser = admin\n'
            lines += f'endpoint = {self.url}\n'
        return f'[{section}]\n{lines}{cafile}'

    def put_backups(self, archive_policy, project_id, user_id, metrics, held):
        """volume_backup resources, with one metric of each name, put
        straight into the index (``testcloud.scripts.gnocchi_database``);
        ``held``: (backup id, stored bytes) pairs."""
        servers.run(
            [
                *servers.script(self.venv, 'gnocchi_database'),
                self.indexer_url,
                archive_policy,
            ],
            input=json.dumps(
                {
                    'project_id': project_id,
                    'user_id': user_id,
                    'metrics': list(metrics),
                    'backups': list(held),
                }
            ),
            timeout=900,
        )

    def client(self):
        if self.keystone:
            return gnocchi_client.Client(
                session=self.keystone.session('admin'),
                adapter_options={'endpoint_override': self.url},
            )
        return basic_client(self.url, self.tls.cafile if self.tls else True)

    def stop(self):
        # uwsgi sometimes ignores SIGTERM: stop() escalates to SIGKILL.
        for process in self.processes:
            servers.stop(process, timeout=3)
        self.processes = []


def basic_client(endpoint, verify=True):
    """A client of the Gnocchi at ``endpoint`` in basic auth, as admin."""
    auth = gnocchi_auth.GnocchiBasicPlugin(user='admin', endpoint=endpoint)
    return gnocchi_client.Client(
        session_options={'auth': auth, 'verify': verify}
    )


def measure_counts(
    client, resource_type, resource_id, granularity, leave_out=()
):
    """meter -> how many measures Gnocchi holds for it (its archive policy
    must aggregate ``count`` at ``granularity`` seconds), but the meters
    ``leave_out`` names."""
    resource = client.resource.get(resource_type, resource_id)
    return {
        name: int(
            sum(
                value
                for _, _, value in client.metric.get_measures(
                    metric_id,
                    aggregation='count',
                    granularity=granularity,
                    refresh=True,
                )
            )
        )
        for name, metric_id in resource['metrics'].items()
        if name not in leave_out
    }


def counts_by_resource(client, resource_type, resource_ids, granularity):
    """(resource id, meter) -> how many measures Gnocchi holds, for each
    of ``resource_ids`` (see measure_counts)."""
    return {
        (resource_id, name): count
        for resource_id in resource_ids
        for name, count in measure_counts(
            client, resource_type, resource_id, granularity
        ).items()
    }
