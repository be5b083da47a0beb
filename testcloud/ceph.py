"""A single-node Ceph of the test run's own (Debian 12's Ceph 16.2).

One monitor, one manager and one BlueStore OSD on a sparse file, every
path under one directory, the monitor on a free 127.0.0.1 port (the OSD
and the manager bind 127.0.0.1 too), cephx on, pools of size 1:
``volumes`` for Cinder's RBD volume driver and ``backups`` for its Ceph
backup driver. ``client.admin``'s keyring and the cluster's ceph.conf are
in the directory; ``client.cinder`` and ``client.cinder-backup`` have
keys of their own, capped to their pools as the Ceph docs tell operators.

Facts met on the way:

- ``ceph-mon --mkfs`` does nothing when its data directory is not empty,
  and ``ceph-osd --mkfs`` needs the OSD's key created first;
- the manager adds a pool of its own (``device_health_metrics``), so the
  cluster is ready once every placement group is active+clean, not after
  a count of them;
- os-brick's RBD connector reads ``/etc/ceph/<cluster>.client.<user>.keyring``
  and no other path: ``install_keyring`` puts one there (and ``stop``
  takes it away again);
- a placement group's read lease is 0.8 x ``osd heartbeat grace`` (16 s by
  default); once an OSD paused for longer resumes, a PG of a single-OSD
  cluster can stay ``laggy`` for good, every op to it parked "waiting for
  readable" (ceph/ceph-container#1682, and ceph/ceph#71663 for a wedge
  of the kind still open; marking the OSD down clears it). The grace
  here is 600 s, so a lease outlasts any pause the tests make (there are
  no peers whose failure it would detect).
"""

import contextlib
import hashlib
import json
import os
import subprocess
import time
import uuid

from testcloud import servers
from testcloud.ground import MIB

DAEMONS = ('ceph-mon', 'ceph-mgr', 'ceph-osd')
POOLS = ('volumes', 'backups')
# Placement groups per pool: the fewer, the sooner active+clean.
PG_NUM = 8
OSD_SIZE = 16 * 1024 * 1024 * 1024  # sparse
# rbd's subcommands that only read what the cluster holds.
QUERIES = (('diff',), ('du',), ('info',), ('ls',), ('snap', 'ls'))


class Ceph(servers.Service):
    def __init__(self, workdir, cluster='ceph'):
        for daemon in DAEMONS + ('ceph', 'rbd'):
            servers.require('Ceph', f'/usr/bin/{daemon}')
        self.workdir = os.path.abspath(workdir)
        self.cluster = cluster
        self.fsid = str(uuid.uuid4())
        # Both protocols: Cinder's RBD driver tells os-brick the monitor's
        # legacy (v1) address, and a client given a port other than 3300
        # without a prefix speaks v1.
        self.mon_port = servers.free_port()
        self.mon_v1_port = servers.free_port()
        self.conf = os.path.join(self.workdir, f'{cluster}.conf')
        self.admin_keyring = os.path.join(
            self.workdir, f'{cluster}.client.admin.keyring'
        )
        self.processes = {}
        self.installed_keyrings = []
        self.timings = {}

    @property
    def mon_host(self):
        return (
            f'[v2:127.0.0.1:{self.mon_port},v1:127.0.0.1:{self.mon_v1_port}]'
        )

    def _path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def log_of(self, daemon):
        """Where a daemon's own output goes (its log: log/)."""
        return self._path('log', f'{daemon}.out')

    def _write_conf(self):
        run = self._path('run')
        with open(self.conf, 'w') as f:
            f.write(
                f"""[global]
fsid = {self.fsid}
mon host = {self.mon_host}
public addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = {run}
admin socket = {run}/$cluster-$name.asok
log file = {self._path('log')}/$cluster-$name.log
crash dir = {self._path('crash')}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 5
osd crush chooseleaf type = 0
osd heartbeat grace = 600

[client]
keyring = {self.workdir}/$cluster.$name.keyring

[mon]
mon data = {self._path('mon', '$cluster-$id')}
mon cluster log file = {self._path('log')}/$cluster.log

[mgr]
mgr data = {self._path('mgr', '$cluster-$id')}
keyring = $mgr_data/keyring
# What a test cluster does not need, and what Debian's ceph-mgr lacks
# the Python packages for without its recommends.
mgr disabled modules = dashboard prometheus restful

[osd]
osd data = {self._path('osd', '$cluster-$id')}
keyring = $osd_data/keyring
osd objectstore = bluestore
bluestore block path = {self._path('osd', '$cluster-$id.block')}
bluestore block create = true
bluestore block size = {OSD_SIZE}
bluestore fsck on mkfs = false
osd memory target = 939524096
"""
            )

    def ceph(self, *args, timeout=60):
        """``ceph ARGS`` as client.admin; its standard output."""
        return servers.run(
            ['ceph', '--cluster', self.cluster, '-c', self.conf, *args],
            timeout=timeout,
        )

    def rbd(self, *args, timeout=120):
        """``rbd ARGS`` as client.admin; its standard output. A query
        (``QUERIES``) that a signal ends is asked once more: Ceph 16.2's
        rbd can abort in librados' shutdown on a loaded machine, and what
        it measures is the tests' truth, not the code under test."""
        argv = ['rbd', '-c', self.conf, *args]
        try:
            return servers.run(argv, timeout=timeout)
        except servers.CommandFailed as failed:
            query = any(args[: len(q)] == q for q in QUERIES)
            if failed.returncode >= 0 or not query:
                raise
            print(
                f'rbd {" ".join(args[:2])} ended by signal '
                f'{-failed.returncode}, asked again: {failed}'
            )
            return servers.run(argv, timeout=timeout)

    def diff_bytes(self, spec, from_snap=None):
        """What ``rbd diff`` lists as data for ``spec`` (POOL/IMAGE[@SNAP])
        since ``from_snap``, in bytes."""
        since = ['--from-snap', from_snap] if from_snap else []
        extents = json.loads(
            self.rbd('diff', '--format', 'json', *since, spec)
        )
        return sum(e['length'] for e in extents if e['exists'] == 'true')

    def du_used(self, spec):
        """What ``rbd du`` says ``spec`` (POOL/IMAGE@SNAP) uses, in bytes."""
        snapshot = spec.partition('@')[2]
        (used,) = [
            image['used_size']
            for image in json.loads(self.rbd('du', '--format', 'json', spec))[
                'images'
            ]
            if image.get('snapshot') == snapshot
        ]
        return used

    def snapshots(self, spec):
        """The names of ``spec``'s (POOL/IMAGE) snapshots, oldest first."""
        listed = json.loads(self.rbd('snap', 'ls', '--format', 'json', spec))
        return [snap['name'] for snap in sorted(listed, key=lambda s: s['id'])]

    @contextlib.contextmanager
    def image(self, pool, name, **kwargs):
        """``rbd.Image`` POOL/NAME, opened as client.admin."""
        import rados
        import rbd

        with (
            rados.Rados(conffile=self.conf) as cluster,
            cluster.open_ioctx(pool) as ioctx,
            rbd.Image(ioctx, name, **kwargs) as image,
        ):
            yield image

    def throttle_reads(self, spec, bytes_per_second):
        """librbd's own QoS on image ``spec``: a transfer from it lasts."""
        self.rbd(
            'config', 'image', 'set', spec, 'rbd_qos_read_bps_limit',
            str(bytes_per_second),
        )  # fmt: skip

    def _timed(self, name, function, *args):
        started = time.monotonic()
        function(*args)
        self.timings[name] = round(time.monotonic() - started, 2)

    def start(self):
        try:
            self._timed('mon', self._start_mon)
            self._timed('mgr', self._start_mgr)
            self._timed('osd', self._start_osd)
            self._timed('pools', self._create_pools)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, daemon, ident):
        self.processes[daemon] = servers.start(
            [
                f'/usr/bin/{daemon}', '-f', '--cluster', self.cluster,
                '-c', self.conf, '-i', ident,
            ],
            dict(os.environ),
            self.log_of(daemon),
        )  # fmt: skip

    def _start_mon(self):
        for name in ('run', 'log', 'crash', 'mon', 'mgr', 'osd'):
            os.makedirs(self._path(name), exist_ok=True)
        self._write_conf()
        mon_keyring = self._path('mon.keyring')
        authtool = ['ceph-authtool', '--create-keyring', '--gen-key']
        servers.run(
            authtool + [mon_keyring, '-n', 'mon.', '--cap', 'mon', 'allow *']
        )
        servers.run(
            authtool + [
                self.admin_keyring, '-n', 'client.admin',
                '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *',
                '--cap', 'mgr', 'allow *', '--cap', 'mds', 'allow *',
            ]
        )  # fmt: skip
        servers.run(
            ['ceph-authtool', mon_keyring, '--import-keyring',
             self.admin_keyring]
        )  # fmt: skip
        monmap = self._path('monmap')
        servers.run(
            ['monmaptool', '--create', '--fsid', self.fsid,
             '--addv', 'a', self.mon_host, monmap]
        )  # fmt: skip
        servers.run(
            ['ceph-mon', '--cluster', self.cluster, '-c', self.conf,
             '--mkfs', '-i', 'a', '--monmap', monmap,
             '--keyring', mon_keyring]
        )  # fmt: skip
        self._start('ceph-mon', 'a')
        servers.wait_for_port(self.mon_port, self.processes['ceph-mon'], 60)
        self.ceph('mon', 'stat')

    def _start_mgr(self):
        data = self._path('mgr', f'{self.cluster}-x')
        os.makedirs(data, exist_ok=True)
        self.ceph(
            'auth', 'get-or-create', 'mgr.x', 'mon', 'allow profile mgr',
            'osd', 'allow *', 'mds', 'allow *',
            '-o', os.path.join(data, 'keyring'),
        )  # fmt: skip
        self._start('ceph-mgr', 'x')

    def _start_osd(self):
        osd_uuid = str(uuid.uuid4())
        ident = self.ceph('osd', 'new', osd_uuid).strip()
        data = self._path('osd', f'{self.cluster}-{ident}')
        os.makedirs(data, exist_ok=True)
        self.ceph(
            'auth', 'get-or-create', f'osd.{ident}', 'osd', 'allow *',
            'mon', 'allow profile osd', 'mgr', 'allow profile osd',
            '-o', os.path.join(data, 'keyring'),
        )  # fmt: skip
        servers.run(
            ['ceph-osd', '--cluster', self.cluster, '-c', self.conf,
             '-i', ident, '--mkfs', '--osd-uuid', osd_uuid],
            timeout=120,
        )  # fmt: skip
        self._start('ceph-osd', ident)
        self.osd_id = ident
        self._wait(
            lambda: (
                json.loads(self.ceph('osd', 'stat', '-f', 'json'))[
                    'num_up_osds'
                ]
                == 1
            ),
            'the OSD up',
            timeout=120,
        )

    def _create_pools(self):
        for pool in POOLS:
            self.ceph('osd', 'pool', 'create', pool, str(PG_NUM))
            self.ceph('osd', 'pool', 'set', pool, 'size', '1',
                      '--yes-i-really-mean-it')  # fmt: skip
            self.rbd('pool', 'init', pool)
        self.wait_active_clean(timeout=180)

    def wait_active_clean(self, timeout):
        def clean():
            # The manager's figures lag the pools: the count expected is
            # the pools' own.
            pools = json.loads(self.ceph('osd', 'pool', 'ls', 'detail',
                                         '-f', 'json'))  # fmt: skip
            expected = sum(pool['pg_num'] for pool in pools)
            stat = json.loads(self.ceph('pg', 'stat', '-f', 'json'))
            states = stat.get('pg_summary', stat).get('num_pg_by_state', [])
            done = sum(s['num'] for s in states if s['name'] == 'active+clean')
            return done == expected

        self._wait(clean, 'every placement group active+clean', timeout)

    def _wait(self, ready, what, timeout):
        deadline = time.monotonic() + timeout
        while True:
            servers.check_alive(self.processes, self.log_of)
            try:
                if ready():
                    return
            except (RuntimeError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f'no {what} after {timeout}s')
            time.sleep(0.5)

    def create_client(self, user, caps):
        """``client.USER`` with ``caps`` (a list); its keyring's path."""
        keyring = self._path(f'{self.cluster}.client.{user}.keyring')
        self.ceph(
            'auth', 'get-or-create', f'client.{user}', *caps, '-o', keyring
        )
        return keyring

    def install_keyring(self, user):
        """Copy client.USER's keyring where os-brick looks for it."""
        target = f'/etc/ceph/{self.cluster}.client.{user}.keyring'
        if os.path.exists(target):
            raise RuntimeError(f'{target} exists: not ours to replace')
        os.makedirs('/etc/ceph', exist_ok=True)
        with open(self._path(f'{self.cluster}.client.{user}.keyring')) as f:
            keyring = f.read()
        with open(target, 'w') as f:
            f.write(keyring)
        self.installed_keyrings.append(target)
        return target

    @contextlib.contextmanager
    def keyring_withheld(self, user):
        """Without client.USER's keyring where os-brick looks: cinder-backup
        cannot attach a volume meanwhile."""
        target = f'/etc/ceph/{self.cluster}.client.{user}.keyring'
        os.rename(target, f'{target}.withheld')
        try:
            yield
        finally:
            os.rename(f'{target}.withheld', target)

    @contextlib.contextmanager
    def caps_replaced(self, user, caps):
        """client.USER with only ``caps`` (a list) for the block."""
        (entity,) = json.loads(
            self.ceph('auth', 'get', f'client.{user}', '--format', 'json')
        )
        kept = [word for pair in entity['caps'].items() for word in pair]
        self.ceph('auth', 'caps', f'client.{user}', *caps)
        try:
            yield
        finally:
            self.ceph('auth', 'caps', f'client.{user}', *kept)

    def pause_osd(self):
        """The OSD stops answering (SIGSTOP): I/O to it hangs."""
        os.kill(self.processes['ceph-osd'].pid, 19)

    def resume_osd(self):
        """SIGCONT, then until every placement group serves I/O again: a
        test fails here, naming the OSD's log, if one does not, not later
        on a backup that never ends."""
        os.kill(self.processes['ceph-osd'].pid, 18)
        self._wait(
            self._pools_listed,
            f'I/O to every pool after the OSD resumed (a laggy PG? see '
            f'{self._path("log")})',
            timeout=90,
        )

    def _pools_listed(self):
        # Listing a pool asks each of its placement groups.
        try:
            for pool in POOLS:
                servers.run(
                    ['rados', '-c', self.conf, '-p', pool, 'ls'], timeout=15
                )
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self):
        # The OSD first: a monitor gone before it leaves it waiting.
        for daemon in reversed(DAEMONS):
            process = self.processes.pop(daemon, None)
            if process is not None:
                if daemon == 'ceph-osd':
                    try:
                        os.killpg(process.pid, 18)  # were it paused
                    except ProcessLookupError:
                        pass
                servers.stop(process, timeout=10)
        for target in self.installed_keyrings:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
        self.installed_keyrings = []


def write_random(image, count, start=0, stride=4 * MIB, size=4 * MIB):
    """``count`` extents of random data into ``image`` (an rbd.Image)."""
    for index in range(count):
        image.write(os.urandom(size), start + index * stride)


def sha256(image):
    """The digest of all of ``image`` (an rbd.Image)."""
    digest = hashlib.sha256()
    length = image.size()
    for offset in range(0, length, 64 * MIB):
        digest.update(image.read(offset, min(64 * MIB, length - offset)))
    return digest.hexdigest()
