"""A real OpenStack on loopback: PostgreSQL, RabbitMQ, Keystone, Cinder.

For the functional tests (``Stack`` as a session-scoped fixture, given the
session's RabbitMQ and PostgreSQL if it has them) and for a person, who
also gets Gnocchi and Ceilometer's two agents (testcloud.telemetry,
deployed as the install pages say) metering the stack::

    tools/stack.sh up [--dir DIR]     # prints credentials and an openrc
    tools/stack.sh meters BACKUP_ID [--dir DIR]
    tools/stack.sh status [--dir DIR]
    tools/stack.sh down [--dir DIR]

Every server is a process of its own session on a free 127.0.0.1 port
(a Stack given a network: Keystone and cinder-api on the network's
address).
``up`` records their process groups, ports and credentials in
DIR/stack.json (default DIR: /tmp/ceilometer-backup-stack); ``down`` stops
those process groups (SIGTERM, SIGKILL soon after) and PostgreSQL, and
leaves the logs in DIR.
"""

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

from testcloud import postgresql as pg_module
from testcloud import servers
from testcloud.cinder import (
    BACKUP_DRIVERS,
    HOSTS_OF_STORE,
    OBJECT_STORES,
    SERVICES,
    Cinder,
    Hosts,
    remove_empty_etc_nvme,
)
from testcloud.gnocchi import basic_client
from testcloud.ground import ROOT, service_credentials
from testcloud.hosts import Network
from testcloud.keystone import Keystone
from testcloud.postgresql import PostgreSQL
from testcloud.rabbitmq import RabbitMQ
from testcloud.swift import Swift
from testcloud.telemetry import Telemetry

DEFAULT_DIR = '/tmp/ceilometer-backup-stack'
# What up prints before the commands that make a backup and show its meters.
MAKE_A_BACKUP = '# a backup, then its meters in Gnocchi'
STATE = 'stack.json'


class Stack(servers.Service):
    """PostgreSQL, RabbitMQ, Keystone, Swift if asked for, and Cinder,
    started in that order.

    Cinder's volumes and backups are on ``ceph`` if given (see
    testcloud.cinder); ``backup_stores`` (testcloud.cinder.BACKUP_DRIVERS)
    gives Cinder a backup host for each store: ``ceph``, ``posix`` files,
    or a Swift behind the Keystone (testcloud.swift), by Cinder's Swift
    driver (``swift``) or by its S3 driver through Swift's S3 API
    (``s3``). The hosts of a store of several (cinder.HOSTS_OF_STORE)
    are hosts of their own (testcloud.hosts) on a network of the stack's
    (made too with ``network``, for others' hosts: ``cinder.hosts``, a
    cinder.Hosts), where Keystone and cinder-api listen, and its
    PostgreSQL and RabbitMQ besides loopback, as on a management
    network.
    Given ``tls`` (testcloud.tls), Keystone and cinder-api serve HTTPS
    only, with that authority's certificate.

    ``rabbitmq`` and ``postgresql``: already running servers to use (the
    test session's); the stack neither starts nor stops them. It creates
    its two databases on the PostgreSQL, named as given.
    """

    def __init__(
        self,
        workdir=DEFAULT_DIR,
        rabbitmq=None,
        postgresql=None,
        keystone_database='keystone',
        cinder_database='cinder',
        ceph=None,
        tls=None,
        backup_stores=None,
        network=False,
    ):
        self.workdir = os.path.abspath(workdir)
        self.tls = tls
        self.rabbitmq = rabbitmq
        self.postgresql = postgresql
        self.owns_rabbitmq = rabbitmq is None
        self.owns_postgresql = postgresql is None
        # A running Ceph (testcloud.ceph) for volumes and backups.
        self.ceph = ceph
        self.databases = {
            'keystone': keystone_database,
            'cinder': cinder_database,
        }
        self.keystone = None
        unknown = set(backup_stores or ()) - set(BACKUP_DRIVERS)
        if unknown:
            raise ValueError(f'no such backup store here: {sorted(unknown)}')
        self.backup_stores = backup_stores
        self.network = None
        # A network of the stack's, for backup hosts of their own or
        # others (``hosts``).
        self.on_hosts = network or bool(
            set(backup_stores or ()) & set(HOSTS_OF_STORE)
        )
        if self.on_hosts and not (self.owns_rabbitmq and self.owns_postgresql):
            raise ValueError(
                "backup hosts of their own reach the stack's own RabbitMQ "
                'and PostgreSQL'
            )
        self.swift = None
        self.cinder = None
        self.timings = {}

    def _timed(self, name, function):
        started = time.monotonic()
        function()
        self.timings[name] = round(time.monotonic() - started, 2)

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        started = time.monotonic()
        try:
            if self.on_hosts:
                self.network = Network().start()
            hosts_address = self.network and self.network.address
            if self.owns_postgresql:
                self.postgresql = PostgreSQL(network=self.network)
                self._timed('postgresql', self.postgresql.start)
            for database in self.databases.values():
                self.postgresql.create_database(database)
            if self.owns_rabbitmq:
                path = os.path.join(self.workdir, 'rabbitmq')
                os.makedirs(path, exist_ok=True)
                self.rabbitmq = RabbitMQ(
                    path, tls=self.tls, hosts_address=hosts_address
                )
                self._timed('rabbitmq', self.rabbitmq.start)
            self.keystone = Keystone(
                os.path.join(self.workdir, 'keystone'),
                self.postgresql.database_url(self.databases['keystone']),
                tls=self.tls,
                address=hosts_address or '127.0.0.1',
            )
            self._timed('keystone', self.keystone.start)
            if set(self.backup_stores or ()) & set(OBJECT_STORES):
                self.swift = Swift(
                    os.path.join(self.workdir, 'swift'), self.keystone
                )
                self._timed('swift', self.swift.start)
            cinder_dir = os.path.join(self.workdir, 'cinder')
            os.makedirs(cinder_dir, exist_ok=True)
            self.cinder = Cinder(
                cinder_dir,
                self.postgresql.database_url(self.databases['cinder']),
                self.rabbitmq.url,
                self.keystone,
                ceph=self.ceph,
                messaging=self.rabbitmq.client_options,
                backup_stores=self.backup_stores,
                swift=self.swift,
                hosts=self._hosts(),
            )
            self._timed('cinder', self.cinder.start)
        except BaseException:
            self.stop()
            raise
        self.timings['total'] = round(time.monotonic() - started, 2)
        return self

    def _hosts(self):
        """How backup hosts of their own reach the database and broker."""
        if not self.network:
            return None
        return Hosts(
            self.network,
            self.postgresql.database_url(
                self.databases['cinder'], self.network.address
            ),
            self.rabbitmq.add_hosts_user(),
        )

    def stop(self):
        errors = []
        rabbitmq = self.rabbitmq if self.owns_rabbitmq else None
        postgresql = self.postgresql if self.owns_postgresql else None
        for name, stop in (
            ('cinder', self.cinder and self.cinder.stop),
            ('swift', self.swift and self.swift.stop),
            ('keystone', self.keystone and self.keystone.stop),
            ('rabbitmq', rabbitmq and rabbitmq.stop),
            ('postgresql', postgresql and postgresql.stop),
            ('network', self.network and self.network.stop),
        ):
            if not stop:
                continue
            started = time.monotonic()
            try:
                stop()
            except Exception as error:
                errors.append(f'{name}: {error}')
            self.timings[f'stop {name}'] = round(time.monotonic() - started, 2)
        self.cinder = self.swift = self.keystone = self.network = None
        if self.owns_rabbitmq:
            self.rabbitmq = None
        if self.owns_postgresql:
            self.postgresql = None
        if errors:
            raise RuntimeError('; '.join(errors))

    # What a client or a person needs.

    def credentials(self, username='demo'):
        return self.keystone.credentials(username)

    def session(self, username='demo'):
        return self.keystone.session(username)

    def cinder_client(self, username='demo'):
        return self.cinder.client(username)

    def openrc(self, username='demo'):
        return openrc(self.credentials(username))

    def state(self):
        """Everything ``down`` and ``status`` need, and the credentials."""
        groups = []  # in the order to stop them
        for service, pid in self.cinder.pids().items():
            groups.append({'name': service, 'pgid': pid})
        groups.append({'name': 'keystone (uwsgi)', 'pgid': self.keystone.pid})
        if self.owns_rabbitmq:
            groups.append(
                {'name': 'rabbitmq-server', 'pgid': self.rabbitmq.server.pid}
            )
            groups.append({'name': 'epmd', 'pgid': self.rabbitmq.epmd.pid})
        state = {
            'workdir': self.workdir,
            'process_groups': groups,
            'ports': {
                'cinder-api': self.cinder.port,
                'keystone': self.keystone.port,
                'rabbitmq': self.rabbitmq.port,
                'postgresql': self.postgresql.port,
            },
            'urls': {
                'keystone': self.keystone.url,
                'cinder': self.cinder.url,
                'transport_url': self.rabbitmq.url,
                'keystone_db': self.postgresql.database_url(
                    self.databases['keystone']
                ),
                'cinder_db': self.postgresql.database_url(
                    self.databases['cinder']
                ),
            },
            'paths': {
                'cinder_conf': self.cinder.conf,
                'backup_posix_path': self.cinder.backup_posix_path,
                'volumes': self.cinder.volumes_path,
                'logs': self.workdir,
            },
            'credentials': {
                user: self.credentials(user)
                for user in ('admin', 'demo', 'cinder', 'ceilometer')
            },
            'timings': self.timings,
            'step_timings': {
                'keystone': self.keystone.timings,
                'cinder': self.cinder.timings,
            },
            'etc_nvme_existed': self.cinder.etc_nvme_existed,
        }
        if self.owns_postgresql:
            state['postgresql'] = {
                'dir': self.postgresql.dir,
                'data': self.postgresql.data,
            }
        return state


def openrc(creds):
    return '\n'.join(
        [
            f'export OS_AUTH_URL={creds["auth_url"]}',
            'export OS_IDENTITY_API_VERSION=3',
            f'export OS_USERNAME={creds["username"]}',
            f'export OS_PASSWORD={creds["password"]}',
            f'export OS_PROJECT_NAME={creds["project_name"]}',
            f'export OS_USER_DOMAIN_NAME={creds["user_domain_name"]}',
            f'export OS_PROJECT_DOMAIN_NAME={creds["project_domain_name"]}',
            f'export OS_REGION_NAME={creds["region_name"]}',
            'export OS_VOLUME_API_VERSION=3.71',
        ]
    )


# Process groups of processes that are not ours (down and status run in a
# process of their own): read from /proc, zombies count as gone.


def group_members(pgid):
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces.
        fields = stat[stat.rindex(')') + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != 'Z':
            members.append(int(entry))
    return members


def stop_group(pgid, timeout):
    """SIGTERM a process group, SIGKILL whatever is left after timeout."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        if not group_members(pgid):
            return True
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_members(pgid):
                return True
            time.sleep(0.1)
    return not group_members(pgid)


def _listening(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1):
            return True
    except OSError:
        return False


def _postmaster_pid(data):
    try:
        with open(os.path.join(data, 'postmaster.pid')) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(')') + 2] != 'Z'


def _load(workdir):
    path = os.path.join(workdir, STATE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def down(workdir):
    state = _load(workdir)
    if state is None:
        print(f'no {STATE} in {workdir}: nothing recorded to stop')
        return 0
    started = time.monotonic()
    failed = []
    for group in state['process_groups']:
        # Cinder's services take ~7 s to stop on SIGTERM: 2 s is enough.
        timeout = 2 if group['name'] in SERVICES else 5
        t = time.monotonic()
        if not stop_group(group['pgid'], timeout):
            failed.append(group['name'])
        print(f'stopped {group["name"]} ({time.monotonic() - t:.1f} s)')
    pg = state.get('postgresql')
    if pg:
        t = time.monotonic()
        if _postmaster_pid(pg['data']):
            try:
                pg_module._as_postgres(
                    [f'{pg_module.BIN}/pg_ctl', '-D', pg['data'], '-m',
                     'immediate', 'stop']
                )  # fmt: skip
            except subprocess.CalledProcessError as error:
                print(f'pg_ctl stop failed: {error.stderr}')
            pid = _postmaster_pid(pg['data'])
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(pg['dir'], ignore_errors=True)
        print(f'stopped postgresql ({time.monotonic() - t:.1f} s)')
    if not state.get('etc_nvme_existed', True):
        remove_empty_etc_nvme()
    os.remove(os.path.join(workdir, STATE))
    print(
        f'down in {time.monotonic() - started:.1f} s; logs stay in {workdir}'
    )
    if failed:
        print(f'still running: {failed}')
        return 1
    return 0


def status(workdir):
    state = _load(workdir)
    if state is None:
        print(f'not up: no {STATE} in {workdir}')
        return 3
    running = 0
    for group in state['process_groups']:
        members = group_members(group['pgid'])
        running += bool(members)
        print(
            f'{group["name"]:18} pgid {group["pgid"]:>7}  '
            f'{"running, pids " + str(members) if members else "STOPPED"}'
        )
    for name, port in state['ports'].items():
        print(
            f'{name:18} port {port:>7}  '
            f'{"listening" if _listening(port) else "NOT LISTENING"}'
        )
    if _listening(state['ports']['cinder-api']):
        try:
            print(_services(state))
        except Exception as error:
            print(f'os-services: {error}')
    return 0 if running == len(state['process_groups']) else 1


def _services(state):
    from cinderclient import client as cinder_client
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    creds = dict(state['credentials']['admin'])
    region = creds.pop('region_name')
    session = ks_session.Session(auth=v3.Password(**creds))
    cinder = cinder_client.Client('3.71', session=session, region_name=region)
    return '\n'.join(
        f'{s.binary:18} {s.host:18} {s.status} {s.state} {s.updated_at}'
        for s in cinder.services.list()
    )


def _running(state):
    return any(group_members(g['pgid']) for g in state['process_groups'])


# What up leaves in DIR: all of it is removed by the next up, and nothing
# else is (DIR may be a directory of the user's).
LEFT_IN_DIR = (STATE, 'rabbitmq', 'keystone', 'cinder', 'telemetry',
               'demo-openrc.sh', 'admin-openrc.sh')  # fmt: skip


def clear(workdir):
    if not os.path.isdir(workdir):
        return
    foreign = set(os.listdir(workdir)) - set(LEFT_IN_DIR)
    if foreign:
        raise SystemExit(
            f'{workdir} holds {sorted(foreign)}: not a stack directory, '
            'choose another --dir'
        )
    for name in LEFT_IN_DIR:
        path = os.path.join(workdir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def up(workdir):
    state = _load(workdir)
    if state is not None:
        if _running(state):
            print(f'already up (see {workdir}/{STATE}); run down first')
            return 1
        down(workdir)
    clear(workdir)
    stack = Stack(workdir)
    stack.start()
    telemetry = None
    try:
        telemetry = _metering(stack)
        state = stack.state()
        _add_metering(state, telemetry)
        with open(os.path.join(workdir, STATE), 'w') as f:
            json.dump(state, f, indent=2)
    except BaseException:
        # Nothing recorded for down: stop what runs.
        if telemetry:
            telemetry.stop()
        stack.stop()
        raise
    for user in ('demo', 'admin'):
        with open(os.path.join(workdir, f'{user}-openrc.sh'), 'w') as f:
            f.write(stack.openrc(user) + '\n')
    print(f'up in {stack.timings["total"]} s: {stack.timings}')
    print(f'Keystone {stack.keystone.url}   Cinder {stack.cinder.url}')
    print(f'Gnocchi {telemetry.gnocchi.url}   RabbitMQ {stack.rabbitmq.url}')
    print(f'state, logs: {workdir}')
    for user, creds in state['credentials'].items():
        print(f'  {user:11} password {creds["password"]:20} project '
              f'{creds["project_name"]}')  # fmt: skip
    print(f'\n# the demo tenant ({workdir}/demo-openrc.sh; admin-openrc.sh)')
    print(stack.openrc('demo'))
    print(
        f'\n{MAKE_A_BACKUP} (in bash, from {ROOT}):\n'
        f'. .venv/bin/activate; . {workdir}/demo-openrc.sh\n'
        'cinder create 1\n'
        'cinder backup-create VOLUME_ID\n'
        f'tools/stack.sh meters BACKUP_ID --dir {workdir}'
    )
    # The servers stay up after this process exits.
    return 0


def _metering(stack):
    """Gnocchi and the two agents, as the install pages deploy them: the
    pipeline ``ceilometer-backup upgrade`` writes, ``ceilometer-low``."""
    return Telemetry(
        pathlib.Path(stack.workdir) / 'telemetry',
        stack.rabbitmq,
        stack.postgresql,
        service_credentials(**stack.credentials('ceilometer')),
        archive_policy=None,
        deployed_pipeline=True,
    ).start()


def _add_metering(state, telemetry):
    """The agents are stopped first, Gnocchi before RabbitMQ."""
    agents = [
        {'name': name, 'pgid': agent.process.pid}
        for name, agent in (
            ('ceilometer-polling', telemetry.poller),
            ('ceilometer-agent-notification', telemetry.notification),
        )
    ]
    gnocchi = [
        {'name': f'gnocchi ({os.path.basename(p.args[0])})', 'pgid': p.pid}
        for p in telemetry.gnocchi.processes
    ]
    groups = state['process_groups']
    at = next(
        (n for n, g in enumerate(groups) if g['name'] == 'rabbitmq-server'),
        len(groups),
    )
    state['process_groups'] = agents + groups[:at] + gnocchi + groups[at:]
    state['ports']['gnocchi'] = telemetry.gnocchi.port
    state['urls']['gnocchi'] = telemetry.gnocchi.url


def meters(workdir, backup_id):
    """The backup's volume_backup resource in Gnocchi and the newest
    aggregate of each of its metrics: the last value where its archive
    policy keeps it (``backup.status``, shown by its name), else the mean
    of the period, said so."""
    from gnocchiclient import exceptions as gnocchi_exc

    from ceilometer_backup.meter.pollster import STATUS_VALUES

    status_of = {code: name for name, code in STATUS_VALUES.items()}

    state = _load(workdir)
    if state is None:
        print(f'not up: no {STATE} in {workdir}')
        return 3
    client = basic_client(state['urls']['gnocchi'])
    try:
        resource = client.resource.get('volume_backup', backup_id)
    except gnocchi_exc.ResourceNotFound:
        print(f'no volume_backup {backup_id} in Gnocchi (yet?)')
        return 1
    for key in ('display_name', 'project_id', 'volume_id', 'stored_bytes',
                'started_at', 'ended_at'):  # fmt: skip
        print(f'{key:28} {resource.get(key)}')
    for name, metric_id in sorted(resource['metrics'].items()):
        policy = client.metric.get(metric_id)['archive_policy']
        aggregation = (
            'last' if 'last' in policy['aggregation_methods'] else 'mean'
        )
        measures = client.metric.get_measures(
            metric_id, aggregation=aggregation, refresh=True
        )
        if not measures:
            print(f'{name:28} no measure yet')
            continue
        # The finest granularity's newest.
        granularity = min(g for _, g, _ in measures)
        at, _, value = [m for m in measures if m[1] == granularity][-1]
        shown = f'{value:.15g}'
        if name == 'backup.status':
            shown = status_of.get(value, 'other')
        print(
            f'{name:28} {shown} at {at} ({aggregation} of {granularity:g} s)'
        )
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='tools/stack.sh', description=__doc__.split('\n')[0]
    )
    parser.add_argument('command', choices=('up', 'down', 'status', 'meters'))
    parser.add_argument('backup_id', nargs='?', help='for meters')
    parser.add_argument('--dir', default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    workdir = os.path.abspath(args.dir)
    if args.command == 'meters':
        if not args.backup_id:
            parser.error('meters needs a BACKUP_ID')
        return meters(workdir, args.backup_id)
    return {'up': up, 'down': down, 'status': status}[args.command](workdir)
