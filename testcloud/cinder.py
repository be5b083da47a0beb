"""Cinder 29.0.0 (api, scheduler, volume, backup) as processes the tests own.

The services run from .venv, where this package is installed, and
cinder-backup runs the metering wrapper configured exactly as operators are
told (etc/cinder/cinder.conf.snippet) around Cinder's POSIX driver. Volumes
are sparse files (testcloud.scripts.sparse_volume_driver): no LVM, no iSCSI.

Given a Ceph (testcloud.ceph), volumes of the ``ceph`` type are RBD
images in its ``volumes`` pool (Cinder's RBDDriver, as client.cinder),
and backups can go to its ``backups`` pool (CephBackupDriver, as
client.cinder-backup). Those two users have the capabilities the Ceph
documentation gives them for OpenStack.

Each store backups go to (POSIX files, Ceph, Swift, S3: BACKUP_DRIVERS)
has a cinder-backup host of its own (BackupHost), in an availability zone
of its own but for the first: the shipped snippet with its wrapped
driver, and nothing else, changed.

Pitfalls met on the way, and their answers here:

- the POSIX driver reads a whole ``backup_file_size`` chunk into memory,
  1.9 GB by default: 32 MiB keeps cinder-backup near 300 MB;
- there is no sudo: os-brick's connector probing starts its privsep daemon
  through ``sudo cinder-rootwrap`` unless ``helper_command`` names
  privsep-helper itself. The daemon stays in its service's process group,
  so stopping the group stops it;
- Cinder answers 500 to a volume create when its default volume type does
  not exist: the type is created through the API once the services are up;
- SQLAlchemy 2.1 takes ``postgresql://`` for psycopg 3: the URL names
  psycopg2;
- api-paste.ini and resource_filters.json are looked for in /etc/cinder:
  the config names the copies in the virtualenv (without the filters file,
  any list with a filter, e.g. a name, is refused with a 400);
- os-brick's probing makes an empty /etc/nvme on the host: stop() removes
  it if it was not there before and is still empty;
- each service takes ~7 s to stop on SIGTERM: stop() escalates after 2 s.

Over TLS (a Keystone given a CertificateAuthority, and a RabbitMQ's
``client_options``), cinder-api serves HTTPS only with that authority's
server certificate, and every service verifies Keystone's and the
broker's against it.
"""

import collections
import datetime
import os
import signal
import time

from cinderclient import client as cinder_client
from cinderclient import exceptions as cinder_exceptions

from testcloud import servers
from testcloud.ground import ROOT, psycopg2_url

API_VERSION = '3.71'
POSIX_BACKUP = 'cinder.backup.drivers.posix.PosixBackupDriver'
CEPH_BACKUP = 'cinder.backup.drivers.ceph.CephBackupDriver'
# The object stores backups can go to here: a Swift (testcloud.swift),
# through its own API or its S3 API.
OBJECT_STORES = {
    'swift': 'cinder.backup.drivers.swift.SwiftBackupDriver',
    's3': 'cinder.backup.drivers.s3.S3BackupDriver',
}
# client.cinder and client.cinder-backup, as docs.ceph.com's "Block
# Devices and OpenStack" creates them.
CEPH_USERS = {
    'cinder': ['mon', 'profile rbd', 'osd', 'profile rbd pool=volumes',
               'mgr', 'profile rbd pool=volumes'],
    'cinder-backup': ['mon', 'profile rbd', 'osd', 'profile rbd pool=backups',
                      'mgr', 'profile rbd pool=backups'],
}  # fmt: skip
# Where a cinder-backup host puts backups: its store's driver. The store
# ``posix-pair`` has two hosts in one zone on one backup directory (an NFS
# share, say), as clouds run cinder-backup active-active: Cinder may
# create, restore and delete a backup on either.
BACKUP_DRIVERS = {
    'posix': POSIX_BACKUP,
    'posix-pair': POSIX_BACKUP,
    'ceph': CEPH_BACKUP,
    **OBJECT_STORES,
}
HOSTS_OF_STORE = {'posix-pair': 2}
# A network of hosts of their own (testcloud.hosts), where cinder-api
# listens, and how hosts on it reach Cinder's database and broker: the
# hosts of a store of several run there.
Hosts = collections.namedtuple(
    'Hosts', ['network', 'database_url', 'transport_url']
)
SERVICES = ('cinder-api', 'cinder-scheduler', 'cinder-volume', 'cinder-backup')
# Cinder's storage_availability_zone, where volumes are.
DEFAULT_ZONE = 'nova'
BACKUP_FILE_SIZE = 32 * 1024 * 1024
# Seconds without a report after which Cinder counts a service as down.
SERVICE_DOWN_TIME = 20
ETC_NVME = '/etc/nvme'
SNIPPET = os.path.join(ROOT, 'etc', 'cinder', 'cinder.conf.snippet')
# What an operator without this project runs: the same driver, Cinder's
# own notifications on, no wrapper (restart_backup(metered=False)).
UNMETERED = """[DEFAULT]
backup_driver = {driver}
[oslo_messaging_notifications]
driver = messagingv2
"""


def _https(tls):
    """cinder-api on HTTPS (oslo.service's [ssl] options)."""
    if not tls:
        return ''
    return f"""[DEFAULT]
osapi_volume_use_ssl = true

[ssl]
cert_file = {tls.certfile}
key_file = {tls.keyfile}
"""


class Cinder(servers.Service):
    venv_name = 'cinder'

    def __init__(
        self,
        workdir,
        database_url,
        transport_url,
        keystone,
        host='stack',
        ceph=None,
        messaging='',
        backup_stores=None,
        swift=None,
        hosts=None,
    ):
        """``messaging``: more oslo.messaging options (TLS); ``hosts``
        (Hosts): the network where the API listens and the backup hosts
        of a store of several run;
        ``backup_stores``: a cinder-backup host for each of these
        (BACKUP_DRIVERS; Swift's and S3's on the running ``swift``), the
        first in the volumes' zone (default: ``ceph`` given a Ceph, else
        ``posix``)."""
        servers.require('Cinder', self.bin('cinder-backup'))
        self.workdir = workdir
        self.transport_url = transport_url
        self.keystone = keystone
        self.host = host
        self.hosts = hosts
        self._choose_stores(ceph, backup_stores, swift)
        self.port = servers.free_port()
        scheme = 'https' if keystone.tls else 'http'
        # Where the API listens: where every host reaches it.
        self.address = hosts.network.address if hosts else '127.0.0.1'
        self.url = f'{scheme}://{self.address}:{self.port}/v3'
        self._make_directories()
        self.processes = {}
        self._registered = False
        self.etc_nvme_existed = os.path.exists(ETC_NVME)
        self.timings = {}
        self.conf = os.path.join(workdir, 'cinder.conf')
        with open(self.conf, 'w') as f:
            f.write(self._conf(database_url, messaging) + self._backends())
        for backup_host in self.backup_hosts:
            backup_host.write()
        self.env = self._environment()

    def _choose_stores(self, ceph, backup_stores, swift):
        """Where volumes and backups go: volumes are sparse files, or RBD
        images (volume type ``ceph``) given ``ceph``; a BackupHost for
        each store."""
        self.ceph = ceph
        stores = backup_stores or (('ceph',) if ceph else ('posix',))
        if 'ceph' in stores and not ceph:
            raise ValueError('backups to Ceph need a Ceph')
        if bool(set(OBJECT_STORES) & set(stores)) != bool(swift):
            raise ValueError('an object store goes with the Swift it is on')
        if set(HOSTS_OF_STORE) & set(stores) and not self.hosts:
            raise ValueError('a store of several hosts goes with Hosts')
        self.swift = swift
        self.backends = [
            b
            for b, wanted in (
                ('sparse', set(stores) != {'ceph'}),
                ('ceph', ceph is not None),
            )
            if wanted
        ]
        self.backup_hosts = [
            BackupHost(self, store, first=n == 0 and k == 1, number=k)
            for n, store in enumerate(stores)
            for k in range(1, HOSTS_OF_STORE.get(store, 1) + 1)
        ]
        self._backup_services = {h.service: h for h in self.backup_hosts}
        # The first host's: where a backup asked for without a zone goes.
        self.default = self.backup_hosts[0]

    def hosts_of(self, store):
        """The backup hosts of ``store``, the first first."""
        return [h for h in self.backup_hosts if h.store == store]

    def _make_directories(self):
        self.state_path = os.path.join(self.workdir, 'state')
        self.backup_posix_path = os.path.join(self.workdir, 'backups')
        self.volumes_path = os.path.join(self.workdir, 'volumes')
        self.lock_path = os.path.join(self.workdir, 'locks')
        for path in (
            self.state_path,
            self.backup_posix_path,
            self.volumes_path,
            self.lock_path,
        ):
            os.makedirs(path, exist_ok=True)

    def _conf(self, database_url, messaging):
        """cinder.conf but for the backend's sections: the four services
        on loopback, behind the Keystone, on the database and broker
        given."""
        tls = self.keystone.tls
        privsep = f'{self.bin("privsep-helper")} --config-file {self.conf}'
        cinder_user = self.keystone.credentials('cinder')
        return f"""[DEFAULT]
host = {self.host}
my_ip = 127.0.0.1
state_path = {self.state_path}
transport_url = {self.transport_url}
auth_strategy = keystone
api_paste_config = {self.venv}/etc/cinder/api-paste.ini
# Without it every filtered list (cinder backup-create NAME, ...) is a 400.
resource_query_filters_file = {self.venv}/etc/cinder/resource_filters.json
osapi_volume_listen = {self.address}
osapi_volume_listen_port = {self.port}
osapi_volume_workers = 1
enabled_backends = {','.join(self.backends)}
default_volume_type = {self.default.volume_type}
# Services report every 2 s: wait_until_up() waits for a report.
report_interval = 2
# A service that stops reporting is down after this (60 s by default).
service_down_time = {SERVICE_DOWN_TIME}
# An RPC reply lost with a broker restart fails an operation sooner.
rpc_response_timeout = 20
backup_posix_path = {self.backup_posix_path}
# The POSIX driver reads a whole file's worth into memory (~1.9 GB by
# default).
backup_file_size = {BACKUP_FILE_SIZE}
backup_use_temp_snapshot = false
# Backups put straight into the database (put_backups) count towards the
# project's quota once Cinder syncs its usage: no limit here.
quota_backups = -1
quota_backup_gigabytes = -1

[database]
connection = {psycopg2_url(database_url)}

[keystone_authtoken]
www_authenticate_uri = {self.keystone.url}
auth_url = {self.keystone.url}
auth_type = password
username = {cinder_user['username']}
password = {cinder_user['password']}
project_name = {cinder_user['project_name']}
user_domain_name = {cinder_user['user_domain_name']}
project_domain_name = {cinder_user['project_domain_name']}
region_name = {cinder_user['region_name']}
{f'cafile = {tls.cafile}' if tls else ''}

[oslo_policy]
# oslo.policy's default since 4.0, said; it enforces scope always since 6.0.
enforce_new_defaults = true
{_https(tls)}
{messaging}
[oslo_concurrency]
lock_path = {self.lock_path}

[coordination]
backend_url = file://{self.lock_path}

[privsep_osbrick]
helper_command = {privsep}

[cinder_sys_admin]
helper_command = {privsep}

"""

    def _environment(self):
        """The services' environment: the virtualenv's programs first, the
        checkout importable (the test-only volume driver is there)."""
        pythonpath = os.environ.get('PYTHONPATH')
        return dict(
            os.environ,
            PATH=f'{self.venv}/bin:{os.environ.get("PATH", "")}',
            PYTHONPATH=f'{ROOT}:{pythonpath}' if pythonpath else ROOT,
        )

    def _backends(self):
        """The volume backends' sections."""
        sections = []
        if 'sparse' in self.backends:
            sections.append(f"""[sparse]
volume_driver = testcloud.scripts.sparse_volume_driver.SparseFileVolumeDriver
volume_backend_name = sparse
sparse_volume_directory = {self.volumes_path}
backup_use_temp_snapshot = false
""")
        if self.ceph is not None:
            for user, caps in CEPH_USERS.items():
                self.ceph.create_client(user, caps)
            # cinder-backup opens RBD volumes with os-brick's connector,
            # which reads the volume user's keyring from /etc/ceph only.
            self.ceph.install_keyring('cinder')
            sections.append(f"""[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = ceph
rbd_pool = volumes
rbd_ceph_conf = {self.ceph.conf}
rbd_user = cinder
rbd_cluster_name = {self.ceph.cluster}
backup_use_temp_snapshot = false
""")
        return '\n'.join(sections)

    def pids(self):
        return {
            name: process.pid
            for name, process in self.processes.items()
            if process.poll() is None
        }

    def log_of(self, service):
        return os.path.join(self.workdir, f'{service}.log')

    def put_backups(self, project_id, count, first=0):
        """Ids of ``count`` backups of ``project_id`` put straight into
        the database (``testcloud.scripts.cinder_database``)."""
        return servers.run(
            [
                *servers.script(self.venv, 'cinder_database'),
                self.conf,
                project_id,
                str(count),
                str(first),
            ],
            timeout=600,
        ).split()

    def remove_put_backups(self, project_id):
        """Mark every backup ``put_backups`` put for ``project_id``
        deleted, in the database as Cinder does."""
        servers.run(
            [
                *servers.script(self.venv, 'cinder_database'),
                self.conf,
                project_id,
                'remove',
                '0',
            ],
            timeout=120,
        )

    def volume_path(self, volume_id):
        """The sparse file holding a volume."""
        return os.path.join(self.volumes_path, f'volume-{volume_id}')

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        if not self._registered:
            self.keystone.register_service('volumev3', 'cinderv3', self.url)
            self._registered = True
        started = time.monotonic()

        def lap(name):
            self.timings[name] = round(time.monotonic() - started, 2)

        servers.run(
            [self.bin('cinder-manage'), '--config-file', self.conf, 'db',
             'sync'],
            timeout=300,
        )  # fmt: skip
        lap('db sync')
        launched = time.time()
        for service in ('cinder-api', 'cinder-scheduler'):
            self.start_service(service)
        servers.wait_for_port(
            self.port, self.processes['cinder-api'], 60, self.address
        )
        # cinder-volume sends its capabilities once at start, to the
        # schedulers listening then, and the scheduler asks for them once
        # at its start, of the volume services listening then: each can
        # miss the other, and the next report is a periodic task up to two
        # minutes later (seen: 70 s). So cinder-volume starts once the
        # scheduler has written its record (its RPC server starts a moment
        # later), and starts again should the scheduler still have no pool.
        self.wait_until_up(['cinder-scheduler'], 60, since=launched, writes=1)
        lap('scheduler constructed')
        time.sleep(1)
        self.start_service('cinder-volume')
        self.wait_until_up(['cinder-volume'], timeout=120)
        lap('volume serving')
        if not self.wait_for_pool(timeout=15):
            self.timings['cinder-volume restarted'] = True
            self.stop_service('cinder-volume')
            self.start_service('cinder-volume')
            if not self.wait_for_pool(timeout=60):
                raise TimeoutError('the scheduler has no pool')
        lap('pool')
        # Once it has the pool, the scheduler starts its reports.
        self.wait_until_up(['cinder-scheduler'], timeout=90)
        lap('scheduler serving')
        for backup_host in self.backup_hosts:
            self.start_service(backup_host.service)
        self.wait_until_up(
            [('cinder-backup', h.host) for h in self.backup_hosts],
            timeout=120,
        )
        self.publish_backup_capabilities()
        lap('backup serving')
        self._create_volume_types()
        lap('volume types')

    def start_service(self, service, metered=True):
        """Start ``service``: cinder-api, -scheduler, -volume or a backup
        host's (BackupHost.service). Each reads cinder.conf and, as on an
        all-in-one host, a backup host's files (its own, else the first
        host's): its host name and zone, and what
        doc/source/install/cinder.md tells operators to add (``metered``),
        else ``UNMETERED``."""
        on = self._backup_services.get(service)
        command = [self.bin('cinder-backup' if on else service)]
        for path in (self.conf, *(on or self.default).files(metered)):
            command += ['--config-file', path]
        if on and on.machine:
            command = on.machine.command(command)
        self.processes[service] = servers.start(
            command, self.env, self.log_of(service)
        )
        return self.processes[service]

    def stop_service(self, service, kill=False):
        """Stop one service and its process group (privsep daemon too)."""
        process = self.processes.pop(service, None)
        if process is None:
            return
        if kill:
            _killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        else:
            servers.stop(process, timeout=2)
        # What is left of the group once its leader is gone (the privsep
        # daemon of a service that died by itself).
        _killpg(process.pid, signal.SIGKILL)

    def restart_backup(
        self, kill=True, wait=True, metered=True, store=None, host=None
    ):
        """SIGKILL the cinder-backup of ``host`` (a BackupHost; else the
        first of ``store``'s, else the first of all), mid-backup say, and
        start it again, ``metered`` or not (see ``start_service``).

        With ``wait``, returns once the new process has reported to the
        database: by then its init_host has set the backups the old one
        left ``creating`` to ``error``.
        """
        on = host or (self.hosts_of(store)[0] if store else self.default)
        self.stop_service(on.service, kill=kill)
        stopped = time.time()
        self.start_service(on.service, metered)
        if wait:
            self.wait_until_up(
                [('cinder-backup', on.host)], timeout=120, since=stopped
            )
            self.publish_backup_capabilities()

    def publish_backup_capabilities(self):
        """Have cinder-backup send its capabilities to the schedulers again,
        as a scheduler asks at its own start.

        The scheduler takes no backup without them ('Service cinder-backup
        could not be found'), and cinder-backup sends them once at the end
        of its start, then every minute: a scheduler not yet listening
        misses the first, and the first may say the driver is not ready
        (Cinder checks it in a loop of its own; Ceph's check connects to
        the cluster).
        """
        servers.run(
            [*servers.script(self.venv, 'cinder_capabilities'), self.conf],
            timeout=120,
        )
        time.sleep(1)  # two casts away: cinder-backup's to the scheduler

    def client(self, username='demo'):
        return cinder_client.Client(
            API_VERSION,
            session=self.keystone.session(username),
            region_name='RegionOne',
        )

    def wait_until_up(self, services, timeout, since=None, writes=2):
        """os-services shows each of ``services`` up, and serving: a
        binary on any host, or a (binary, host) pair.

        A service first writes its record when it is constructed, before
        its init_host (which resets the backups a killed cinder-backup
        left ``creating``) and before its RPC server consumes: only the
        next write, the first periodic report, says it is serving. So each
        must have written twice (``writes``), and after ``since`` if
        given.
        """
        wanted = {s if isinstance(s, tuple) else (s, None) for s in services}
        admin = self.client('admin')
        first = {}
        deadline = time.monotonic() + timeout
        while True:
            servers.check_alive(self.processes, self.log_of)
            try:
                serving = set()
                for s in admin.services.list():
                    key = next(
                        (w for w in wanted if w in {(s.binary, s.host),
                                                    (s.binary, None)}),
                        None,
                    )  # fmt: skip
                    if key is None or s.state != 'up':
                        continue
                    # None: created (by this start), not written since.
                    updated = _epoch(s.updated_at) if s.updated_at else 0.0
                    if since is not None and s.updated_at and updated <= since:
                        continue
                    first.setdefault((s.binary, s.host), updated)
                    if writes == 1 or updated > first[s.binary, s.host]:
                        serving.add(key)
                if serving >= wanted:
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                missing = sorted(str(w) for w in wanted - serving)
                raise TimeoutError(f'{missing} not serving after {timeout}s')
            time.sleep(0.3)

    def _create_volume_types(self):
        """A public volume type of each backend's name, on that backend."""
        admin = self.client('admin')
        existing = {t.name for t in admin.volume_types.list()}
        for backend in self.backends:
            if backend not in existing:
                admin.volume_types.create(backend, is_public=True).set_keys(
                    {'volume_backend_name': backend}
                )

    def wait_for_pool(self, timeout):
        """Whether the scheduler has every backend's capacity in time."""
        admin = self.client('admin')
        deadline = time.monotonic() + timeout
        while len(admin.pools.list()) < len(self.backends):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    def stop(self):
        # The API first: nothing new comes in while the rest stops.
        for service in ('cinder-api', *self.processes):
            self.stop_service(service)
        # Its daemon stays in its service's process group; were one to
        # escape, it would be found here.
        leftovers = [
            pid for pid in _pids_named('privsep-helper') if _in_dir(pid, self)
        ]
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)
        if not self.etc_nvme_existed:
            remove_empty_etc_nvme()
        if leftovers:
            raise RuntimeError(f'privsep-helper was left running: {leftovers}')


class BackupHost:
    """One cinder-backup host: the shipped snippet around its store's
    driver, a host name and an availability zone of its own. The first
    shares the volumes' zone and the name of the host Cinder's other
    services run on, as on an all-in-one host; a backup asked for in
    another zone goes to that zone's host, as Cinder's scheduler does
    with several backup hosts. Those of a store of several run each on
    a host of its own (``machine``, a testcloud.hosts Host), reaching the
    database and the broker over its network, and can be lost whole."""

    def __init__(self, cinder, store, first, number=1):
        """``number``: of the store's hosts (HOSTS_OF_STORE), from 1."""
        self.cinder = cinder
        self.store = store
        self.driver = BACKUP_DRIVERS[store]
        # The volumes this store's tests back up.
        self.volume_type = 'ceph' if store == 'ceph' else 'sparse'
        suffix = '' if first else f'-{store}'
        if number > 1:
            suffix += f'-{number}'
        self.service = f'cinder-backup{suffix}'
        self.host = cinder.host + suffix
        self.zone = DEFAULT_ZONE if first else store
        self.conf = os.path.join(cinder.workdir, f'{self.service}.conf')
        self.unmetered = os.path.join(
            cinder.workdir, f'{self.service}-unmetered.conf'
        )
        self.snippet = SNIPPET
        if self.driver != POSIX_BACKUP:
            self.snippet = os.path.join(
                cinder.workdir, f'{self.service}.snippet'
            )
        # EC2 credentials of Cinder's service user, for S3.
        self.s3_keys = None
        self.machine = None
        if store in HOSTS_OF_STORE:
            self.machine = cinder.hosts.network.add(self.host)

    def files(self, metered=True):
        """The configuration files its cinder-backup adds to cinder.conf."""
        return [self.conf, self.snippet if metered else self.unmetered]

    def write(self):
        if self.store == 's3':
            self.s3_keys = self.cinder.keystone.ec2_credentials('cinder')
        with open(self.conf, 'w') as f:
            f.write(
                f"""[DEFAULT]
host = {self.host}
storage_availability_zone = {self.zone}
{self._reach()}"""
                + self._store_options()
                + self._database()
            )
        with open(self.unmetered, 'w') as f:
            f.write(UNMETERED.format(driver=self.driver))
        if self.snippet == SNIPPET:
            return
        with open(SNIPPET) as f:
            shipped = f.read()
        wrapped = f'wrapped_driver = {POSIX_BACKUP}'
        assert shipped.count(wrapped) == 1, 'the snippet names another driver'
        with open(self.snippet, 'w') as f:
            f.write(
                shipped.replace(wrapped, f'wrapped_driver = {self.driver}')
            )

    def _reach(self):
        """On a host of its own: its address, the broker's on its
        network."""
        if not self.machine:
            return ''
        return f"""my_ip = {self.machine.address}
transport_url = {self.cinder.hosts.transport_url}
"""

    def _database(self):
        """On a host of its own: the database's address on its network."""
        if not self.machine:
            return ''
        return f"""
[database]
connection = {psycopg2_url(self.cinder.hosts.database_url)}
"""

    def _store_options(self):
        """What Cinder's driver for the store is configured with."""
        if self.store == 'ceph':
            return f"""backup_ceph_conf = {self.cinder.ceph.conf}
backup_ceph_user = cinder-backup
backup_ceph_pool = backups

[backup_notifications]
# The tests' time scale (120 s as shipped): an RBD transfer, which no
# object crosses, reports on this timer only.
progress_every_seconds = 1
"""
        if self.store == 's3':
            access, secret = self.s3_keys
            # As devstack's s3_swift: Swift's S3 API, EC2 credentials of
            # Cinder's service user (its project's account holds every
            # backup).
            return f"""backup_s3_endpoint_url = {self.cinder.swift.url}
backup_s3_store_access_key = {access}
backup_s3_store_secret_key = {secret}
backup_s3_object_size = {BACKUP_FILE_SIZE}
"""
        if self.store == 'swift':
            # Cinder's defaults, written out: each backup goes to the
            # account of the tenant's project with the tenant's own token,
            # at the object-store endpoint of the catalog cinder-api passes
            # on.
            return f"""backup_swift_auth = per_user
swift_catalog_info = object-store:swift:publicURL
# Objects of the POSIX files' size, for as many progress reports.
backup_swift_object_size = {BACKUP_FILE_SIZE}
"""
        return ''


def wait_status(get, *statuses, timeout=180):
    """``get()`` (a volume, a backup) once its status is one of
    ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        found = get()
        if found.status in statuses:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f'{found} is {found.status}')
        time.sleep(0.3)


def wait_gone(get, timeout=180):
    """Once ``get()`` (a volume, a backup) finds it no more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get()
        except cinder_exceptions.NotFound:
            return
        time.sleep(0.3)
    raise TimeoutError(f'{get()} is still there')


def remove_empty_etc_nvme():
    """Undo what os-brick's connector probing does to the host.

    cinder-backup asks every os-brick connector for its properties before
    each backup and restore; the LightOS one, through the privsep daemon
    (root here), creates /etc/nvme to write a hostnqn, and leaves it empty
    where there is no nvme CLI.
    """
    try:
        os.rmdir(ETC_NVME)
    except OSError:
        pass  # absent, or not empty: not only ours


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _epoch(timestamp):
    value = datetime.datetime.fromisoformat(timestamp.rstrip('Z'))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def _pids_named(name):
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if any(name.encode() in arg for arg in argv[:2]):
            yield int(entry)


def _in_dir(pid, cinder):
    """Whether the process was started with this Cinder's configuration."""
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return cinder.conf.encode() in f.read()
    except OSError:
        return False
