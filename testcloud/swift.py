"""A single-node OpenStack Swift of the test run's own, behind Keystone.

Swift from PyPI in a virtualenv of its own (.venv-swift, or SWIFT_VENV
names one): account, container and object servers and a proxy, each one
process (``workers = 0``) on a free loopback port, one replica on one
device under the work directory, and a memcached (Debian's) of its own.
The proxy's pipeline is Swift's sample's with ``authtoken`` and
``keystoneauth``, as operators run it with Keystone, and Swift's S3 API
(``s3api``, ``s3token``: EC2 credentials checked by Keystone, the secret
then kept a minute in memcached) as devstack's ``s3_swift`` backup store
has it.
``object-store`` is registered in the Keystone's catalog as
devstack registers it (``/v1/AUTH_$(project_id)s``), so Cinder's Swift
driver finds it with its default per-user authentication.

The object server keeps each object's metadata in user xattrs: a
filesystem without them makes every upload a 507, so they are checked
first, with an error saying so.
"""

import json
import os
import pwd

from testcloud import servers

SERVERS = ('account', 'container', 'object')
PIPELINE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache listing_formats '
    'container_sync bulk ratelimit authtoken s3api s3token keystoneauth '
    'copy container-quotas account-quotas slo dlo versioned_writes symlink '
    'proxy-logging proxy-server'
)
MEMCACHED = '/usr/bin/memcached'
FILTERS = (
    'catch_errors', 'gatekeeper', 'healthcheck', 'listing_formats',
    'container_sync', 'bulk', 'copy', 'slo', 'dlo', 'versioned_writes',
    'symlink', 's3api', 'ratelimit',
)  # fmt: skip


def _user():
    """The user Swift's servers switch to at start: the one running
    them (not $USER, which su may leave as it was)."""
    return pwd.getpwuid(os.geteuid()).pw_name


def check_user_xattrs(directory):
    """RuntimeError unless ``directory``'s filesystem takes user xattrs."""
    probe = os.path.join(directory, '.xattr-probe')
    with open(probe, 'w'):
        pass
    try:
        os.setxattr(probe, 'user.swift.probe', b'1')
    except OSError as error:
        raise RuntimeError(
            f'{directory}: its filesystem takes no user xattrs ({error}); '
            "Swift's object server keeps its metadata in them (every "
            'upload would be a 507): give the tests a directory on ext4, '
            'XFS or tmpfs'
        ) from None
    finally:
        os.remove(probe)


class Swift(servers.Service):
    venv_name = 'swift'

    def __init__(self, workdir, keystone):
        servers.require('Swift', self.bin('swift-proxy-server'))
        servers.require('memcached', MEMCACHED)
        self.workdir = workdir
        self.keystone = keystone
        self.devices = os.path.join(workdir, 'devices')
        os.makedirs(os.path.join(self.devices, 'd1'), exist_ok=True)
        check_user_xattrs(self.devices)
        self.ports = {kind: servers.free_port() for kind in SERVERS}
        self.port = servers.free_port()
        self.memcached_port = servers.free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.processes = {}

    def log_of(self, name):
        """Each server's log, and memcached's."""
        if name == 'memcached':
            return os.path.join(self.workdir, 'memcached.log')
        return os.path.join(self.workdir, f'{name}-server.log')

    def _common(self, port):
        return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {_user()}
swift_dir = {self.workdir}
devices = {self.devices}
mount_check = false
recon_cache_path = {self.workdir}
"""

    def _write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def _configure(self):
        self._write(
            'swift.conf',
            '[swift-hash]\nswift_hash_path_suffix = ceilometer-backup\n'
            '[storage-policy:0]\nname = Policy-0\ndefault = yes\n',
        )
        servers.run(
            [
                *servers.script(self.venv, 'swift_rings'),
                self.workdir,
                json.dumps(self.ports),
            ]
        )
        confs = {}
        for kind, port in self.ports.items():
            confs[kind] = self._write(
                f'{kind}-server.conf',
                self._common(port)
                + f'[pipeline:main]\npipeline = {kind}-server\n'
                f'[app:{kind}-server]\nuse = egg:swift#{kind}\n',
            )
        user = self.keystone.credentials('swift')
        # keystonemiddleware's and s3token's own user.
        service = 'auth_type = password\n' + ''.join(
            f'{key} = {user[key]}\n'
            for key in ('auth_url', 'username', 'password', 'project_name',
                        'user_domain_name', 'project_domain_name')
        )  # fmt: skip
        filters = ''.join(
            f'[filter:{name}]\nuse = egg:swift#{name}\n' for name in FILTERS
        )
        confs['proxy'] = self._write(
            'proxy-server.conf',
            self._common(self.port)
            + f"""[pipeline:main]
pipeline = {PIPELINE}
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:container-quotas]
use = egg:swift#container_quotas
[filter:account-quotas]
use = egg:swift#account_quotas
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{self.memcached_port}
{filters}[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = {user['auth_url']}
{service}delay_auth_decision = True
cache = swift.cache
[filter:s3token]
use = egg:swift#s3token
auth_uri = {user['auth_url']}
# Keystone 30 answers s3tokens to a service only.
{service}[filter:keystoneauth]
use = egg:swift#keystoneauth
reseller_prefix = AUTH_
operator_roles = admin, member
""",
        )
        return confs

    def start(self):
        try:
            confs = self._configure()
            self.keystone.register_service(
                'object-store', 'swift', f'{self.url}/v1/AUTH_$(project_id)s'
            )
            self.processes['memcached'] = servers.start(
                [MEMCACHED, '-l', '127.0.0.1', '-p', str(self.memcached_port),
                 '-U', '0', '-u', _user()],
                dict(os.environ),
                self.log_of('memcached'),
            )  # fmt: skip
            for kind, conf in confs.items():
                self.start_server(kind, conf)
            ports = {**self.ports, 'proxy': self.port,
                     'memcached': self.memcached_port}  # fmt: skip
            for kind, process in self.processes.items():
                servers.wait_for_port(ports[kind], process, 60)
        except BaseException:
            self.stop()
            raise
        return self

    def start_server(self, kind, conf=None):
        conf = conf or os.path.join(self.workdir, f'{kind}-server.conf')
        self.processes[kind] = servers.start(
            [self.bin(f'swift-{kind}-server'), conf, '-v'],
            dict(os.environ),
            self.log_of(kind),
        )
        return self.processes[kind]

    def stop_server(self, kind):
        """A store failure: that server goes, the others stay."""
        servers.stop(self.processes.pop(kind), timeout=5)

    def stop(self):
        # The proxy first, memcached last.
        for kind in reversed(list(self.processes)):
            self.stop_server(kind)

    def listing(self, session, container, marker):
        """Name -> bytes of the objects in the project's ``container``
        whose names hold ``marker``, as Swift lists them (swiftclient on
        ``session``, the object-store endpoint from its catalog)."""
        from swiftclient import client as swift_client

        connection = swift_client.Connection(session=session, retries=0)
        _, objects = connection.get_container(container, full_listing=True)
        return {o['name']: o['bytes'] for o in objects if marker in o['name']}

    def s3_listing(self, keys, bucket, marker):
        """Name -> bytes of the objects in ``bucket`` whose names hold
        ``marker``, as the S3 API lists them (boto3 with ``keys``, EC2
        access and secret)."""
        import boto3

        access, secret = keys
        s3 = boto3.client(
            's3',
            endpoint_url=self.url,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name='us-east-1',
        )
        pages = s3.get_paginator('list_objects_v2').paginate(Bucket=bucket)
        return {
            o['Key']: o['Size']
            for page in pages
            for o in page.get('Contents', ())
            if marker in o['Key']
        }
