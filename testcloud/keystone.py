"""Keystone 30.0.0 under uwsgi, as a process the tests own.

Keystone lives in a virtualenv of its own (``servers.VENVS``): its pins
need not agree with Cinder's. Its database is on the PostgreSQL given;
fernet and credential keys live under the work directory. After
``keystone-manage bootstrap`` (admin, RegionOne, the identity endpoints)
the REST API itself creates the ``service`` project with the ``cinder``
and ``ceilometer`` users (admin there), users with the ``reader`` or the
``service`` role alone, and the ``demo`` project with its ``demo`` user
(member); ``tenant()`` adds more such projects, one per test module on a
shared cloud.

It runs under uwsgi as ``servers.uwsgi`` starts a WSGI module (every
answer saying ``Connection: close``: keystoneauth reuses its connections,
which uwsgi's socket modes do not serve twice).

Given a CertificateAuthority (testcloud.tls), Keystone serves HTTPS
only (uwsgi's ``--https-socket``), its endpoints say ``https``, and this
module's sessions trust that authority alone.
"""

import os
import subprocess
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from testcloud import servers
from testcloud.ground import psycopg2_url

REGION = 'RegionOne'
DOMAIN = 'Default'
# Test credentials, on loopback only.
PASSWORDS = {
    'admin': 'admin-Passw0rd',
    'cinder': 'cinder-Passw0rd',
    'ceilometer': 'ceilometer-Passw0rd',
    'demo': 'demo-Passw0rd',
    'metering-reader': 'reader-Passw0rd',
    'metering-service': 'service-Passw0rd',
    'gnocchi': 'gnocchi-Passw0rd',
    'swift': 'swift-Passw0rd',
}
# user -> (project, role, more roles...)
USERS = {
    'admin': ('admin', 'admin'),
    'cinder': ('service', 'admin'),
    'ceilometer': ('service', 'admin'),
    'demo': ('demo', 'member'),
    # What an operator moving to Keystone's newer roles may give the
    # pollster: it reads, it is not admin.
    'metering-reader': ('service', 'reader'),
    # Keystone's role for services, alone: what Gnocchi's default policy
    # asks of resource type changes.
    'metering-service': ('service', 'service'),
    # keystonemiddleware's user, in a Gnocchi behind Keystone.
    'gnocchi': ('service', 'service'),
    # keystonemiddleware's and s3token's user in Swift's proxy, as
    # devstack makes it: s3token reads EC2 credentials to cache them.
    'swift': ('service', 'service', 'admin'),
}


class Keystone(servers.Service):
    venv_name = 'keystone'

    def __init__(self, workdir, database_url, tls=None, address='127.0.0.1'):
        """``address``: where it listens (a testcloud.hosts Network's for
        its hosts to reach)."""
        servers.require('Keystone', self.bin('keystone-manage'))
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = servers.free_port()
        self.tls = tls
        scheme = 'https' if tls else 'http'
        self.address = address
        self.url = f'{scheme}://{address}:{self.port}/v3'
        # What a client verifies this Keystone's certificate with.
        self.verify = tls.cafile if tls else True
        self.conf = os.path.join(workdir, 'keystone.conf')
        self.log = os.path.join(workdir, 'keystone.out')
        self.database_url = psycopg2_url(database_url)
        self.process = None
        self.project_ids = {}  # name -> id
        self.user_ids = {}
        # user -> (project, roles...), password: USERS and PASSWORDS, and
        # the tenants added since (tenant()).
        self.users = dict(USERS)
        self.passwords = dict(PASSWORDS)
        self._admin = None
        self._roles = {}  # name -> id
        self.timings = {}
        with open(self.conf, 'w') as f:
            f.write(
                f"""[DEFAULT]
log_file = {workdir}/keystone.log
[database]
connection = {self.database_url}
[token]
provider = fernet
[fernet_tokens]
key_repository = {workdir}/fernet-keys
[fernet_receipts]
key_repository = {workdir}/fernet-keys
[credential]
key_repository = {workdir}/credential-keys
[identity]
# bcrypt's default 12 rounds cost 0.25 s a token; this is a test cloud.
password_hash_rounds = 4
[cache]
enabled = false
[oslo_policy]
# oslo.policy's default since 4.0, said; it enforces scope always since 6.0.
enforce_new_defaults = true
"""
            )
        self.env = dict(
            os.environ,
            PATH=f'{self.venv}/bin:{os.environ.get("PATH", "")}',
            OS_KEYSTONE_CONFIG_FILES=self.conf,
        )
        self.env.pop('PYTHONPATH', None)

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def _manage(self, *commands):
        """Run keystone-manage commands side by side (each imports for 4 s)."""
        started = time.monotonic()
        running = [
            (
                args[0],
                subprocess.Popen(
                    [
                        self.bin('keystone-manage'),
                        '--config-file',
                        self.conf,
                        *args,
                    ],
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for args in commands
        ]
        failures = []
        for name, process in running:
            _, stderr = process.communicate(timeout=300)
            if process.returncode:
                failures.append(f'keystone-manage {name}:\n{stderr[-3000:]}')
        if failures:
            raise RuntimeError('\n'.join(failures))
        self.timings['+'.join(name for name, _ in running)] = round(
            time.monotonic() - started, 2
        )

    def start(self):
        owner = ('--keystone-user', 'root', '--keystone-group', 'root')
        self._manage(
            ('db_sync',),
            ('fernet_setup', *owner),
            ('credential_setup', *owner),
        )
        self._manage(
            (
                'bootstrap',
                '--bootstrap-password', PASSWORDS['admin'],
                '--bootstrap-username', 'admin',
                '--bootstrap-project-name', 'admin',
                '--bootstrap-role-name', 'admin',
                '--bootstrap-service-name', 'keystone',
                '--bootstrap-region-id', REGION,
                '--bootstrap-admin-url', self.url,
                '--bootstrap-internal-url', self.url,
                '--bootstrap-public-url', self.url,
            ),
        )  # fmt: skip
        started = time.monotonic()
        try:
            self.serve()
            self.timings['serve'] = round(time.monotonic() - started, 2)
            started = time.monotonic()
            self._create_accounts()
        except BaseException:
            self.stop()
            raise
        self.timings['accounts'] = round(time.monotonic() - started, 2)
        return self

    def serve(self):
        self.process = servers.start(
            servers.uwsgi(
                self.venv, self.port, 'keystone.wsgi.api:application',
                self.tls,
                '--buffer-size', '65535', '--disable-logging',
                address=self.address,
            ),
            self.env,
            self.log,
        )  # fmt: skip
        servers.wait_for_port(self.port, self.process, 60, self.address)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.session('admin').get_token()
                return
            except Exception as error:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f'uwsgi exited, see {self.log}'
                    ) from error
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def credentials(self, username):
        """What a client needs to authenticate as ``username``."""
        return {
            'auth_url': self.url,
            'username': username,
            'password': self.passwords[username],
            'project_name': self.users[username][0],
            'user_domain_name': DOMAIN,
            'project_domain_name': DOMAIN,
            'region_name': REGION,
        }

    def session(self, username='admin', password=None, project_name=None):
        creds = self.credentials(username)
        auth = v3.Password(
            auth_url=self.url,
            username=username,
            password=password or creds['password'],
            project_name=project_name or creds['project_name'],
            user_domain_name=DOMAIN,
            project_domain_name=DOMAIN,
        )
        return ks_session.Session(auth=auth, verify=self.verify)

    # Keystone's REST API, as the admin.

    def _call(self, method, path, body=None):
        if self._admin is None:
            self._admin = self.session('admin')
        response = self._admin.request(
            self.url + path, method, json=body, raise_exc=True
        )
        return response.json() if response.content else None

    def _find(self, collection, name):
        found = self._call('GET', f'/{collection}?name={name}')[collection]
        return found[0]['id'] if found else None

    def _create_accounts(self):
        self._roles = {
            name: self._find('roles', name)
            for name in ('admin', 'member', 'reader', 'service')
        }
        for project in ('admin', 'service', 'demo'):
            self._create_project(project)
        for user in USERS:
            self._create_user(user)

    def _create_project(self, project):
        self.project_ids[project] = (
            self._find('projects', project)
            or self._call(
                'POST',
                '/projects',
                {'project': {'name': project, 'domain_id': 'default'}},
            )['project']['id']
        )

    def _create_user(self, user):
        project, *roles = self.users[user]
        uid = (
            self._find('users', user)
            or self._call(
                'POST',
                '/users',
                {
                    'user': {
                        'name': user,
                        'password': self.passwords[user],
                        'domain_id': 'default',
                        'default_project_id': self.project_ids[project],
                    }
                },
            )['user']['id']
        )
        self.user_ids[user] = uid
        for role in roles:
            self._call(
                'PUT',
                f'/projects/{self.project_ids[project]}/users/{uid}'
                f'/roles/{self._roles[role]}',
            )

    def tenant(self, name):
        """A project ``name`` of its own with its user ``name`` (member),
        as ``demo`` is: what one test module works in on a shared cloud.
        Its project's id."""
        if name in self.users:
            raise ValueError(f'{name} is already a user here')
        self.users[name] = (name, 'member')
        self.passwords[name] = f'{name}-Passw0rd'
        self._create_project(name)
        self._create_user(name)
        return self.project_ids[name]

    def ec2_credentials(self, username):
        """(access, secret): new EC2 credentials of ``username`` in its
        project, as ``openstack ec2 credential create`` makes them."""
        created = self._call(
            'POST',
            f'/users/{self.user_ids[username]}/credentials/OS-EC2',
            {'tenant_id': self.project_ids[self.users[username][0]]},
        )['credential']
        return created['access'], created['secret']

    def register_service(self, service_type, name, url):
        """A service with public, internal and admin endpoints at ``url``."""
        sid = self._call(
            'POST',
            '/services',
            {'service': {'type': service_type, 'name': name}},
        )['service']['id']
        for interface in ('public', 'internal', 'admin'):
            self._call(
                'POST',
                '/endpoints',
                {
                    'endpoint': {
                        'service_id': sid,
                        'interface': interface,
                        'url': url,
                        'region_id': REGION,
                    }
                },
            )
        return sid

    def stop(self):
        # uwsgi's master and worker are one process group.
        servers.stop(self.process, timeout=5)
        self.process = None
