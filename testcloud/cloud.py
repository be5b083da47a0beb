"""A real cloud as a tenant and an operator see it: the Stack's Cinder
through python-cinderclient (``demo``, ``admin``), Telemetry's Gnocchi and
notification agent, and waits on both.
"""

import collections
import contextlib
import hashlib
import os
import time

from cinderclient import exceptions as cinder_exceptions
from gnocchiclient import exceptions as gnocchi_exc

from testcloud.cinder import wait_status
from testcloud.ground import MIB, service_credentials
from testcloud.stack import Stack
from testcloud.telemetry import Telemetry


@contextlib.contextmanager
def real_cloud(
    root,
    rabbitmq,
    ceph=None,
    tls=None,
    keystone_gnocchi=False,
    object_store=None,
    **telemetry,
):
    """A Stack in ``root``/stack (on ``ceph`` if given, backups to
    ``object_store``: ``swift`` or ``s3``, see Stack) and Telemetry
    polling it as the ``ceilometer`` user (``telemetry``: more of
    Telemetry's arguments), as a Cloud; over TLS with ``tls``'s
    certificates (testcloud.tls; ``rabbitmq`` should then be its);
    Gnocchi behind the stack's Keystone with ``keystone_gnocchi``."""
    credentials = {'cafile': tls.cafile} if tls else {}
    with (
        Stack(
            str(root / 'stack'),
            rabbitmq=rabbitmq,
            ceph=ceph,
            tls=tls,
            object_store=object_store,
        ) as stack,
        Telemetry(
            root,
            rabbitmq,
            stack.postgresql,
            service_credentials(
                **stack.credentials('ceilometer'), **credentials
            ),
            tls=tls,
            keystone=stack.keystone if keystone_gnocchi else None,
            **telemetry,
        ) as telemetry,
    ):
        yield Cloud(stack, telemetry)


class Cloud:
    def __init__(self, stack, telemetry):
        self.stack = stack
        self.cinder = stack.cinder
        self.demo = stack.cinder_client('demo')
        self.admin = stack.cinder_client('admin')
        self.telemetry = telemetry
        self.gnocchi = telemetry.client
        self.agent = telemetry.notification
        self.rabbitmq = telemetry.rabbitmq

    def central_conf(self, path, username='ceilometer', **credentials):
        """The central agent's configuration as ``username`` (with more
        [service_credentials] options, ``credentials``), written to
        ``path``; its path."""
        path.write_text(
            service_credentials(
                **self.stack.credentials(username), **credentials
            )
            + self.telemetry.gnocchi_reader()
        )
        return str(path)

    def wait(self, get, *statuses, timeout=180):
        """``get()`` once in one of ``statuses``; if never, an error with
        the end of the logs of the services that set them, which CI's
        output keeps."""
        try:
            return wait_status(get, *statuses, timeout=timeout)
        except TimeoutError as error:
            tails = [str(error)]
            for service in ('cinder-volume', 'cinder-backup'):
                try:
                    with open(
                        self.cinder.log_of(service), errors='replace'
                    ) as f:
                        tail = collections.deque(f, 10)
                except FileNotFoundError:
                    continue
                tails.append(f"the end of {service}'s log:")
                tails.extend(line[:300].rstrip('\n') for line in tail)
            raise TimeoutError('\n'.join(tails)) from None

    def wait_gone(self, get, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                get()
            except cinder_exceptions.NotFound:
                return
            time.sleep(0.3)
        raise TimeoutError(f'{get()} is still there')

    def volume(self, size=1):
        created = self.demo.volumes.create(size)
        return self.wait(
            lambda: self.demo.volumes.get(created.id), 'available'
        )

    def backup(self, volume_id, **kwargs):
        created = self.demo.backups.create(volume_id, **kwargs)
        return self.wait(
            lambda: self.demo.backups.get(created.id), 'available', 'error'
        )

    def write(self, volume_id, mib, at_mib=0):
        """``mib`` MiB of random data into the volume, from ``at_mib``."""
        with open(self.cinder.volume_path(volume_id), 'r+b') as f:
            for n in range(mib):
                os.pwrite(f.fileno(), os.urandom(MIB), (at_mib + n) * MIB)

    def backup_under_way(self, name):
        """A volume with 256 MiB of random data, and its backup once the
        wrapper has reported progress on it: (volume, backup)."""
        volume = self.volume()
        for n in range(16):
            self.write(volume.id, 16, at_mib=n * 32)
        backup = self.demo.backups.create(volume.id, name=name)
        wait_for(
            lambda: self.samples(backup.id, 'backup.progress'), timeout=180
        )
        return volume, backup

    def restored(self, backup_id):
        """The new volume a restore of ``backup_id`` makes, once done."""
        restore = self.demo.restores.restore(backup_id)
        volume = self.wait(
            lambda: self.demo.volumes.get(restore.volume_id), 'available'
        )
        self.wait(lambda: self.demo.backups.get(backup_id), 'available')
        return volume

    def failed_backup(self, volume_id, container):
        """A backup the POSIX driver fails: its container is a file (root
        ignores permissions)."""
        blocked = os.path.join(self.cinder.backup_posix_path, container)
        with open(blocked, 'w') as f:
            f.write('not a directory\n')
        try:
            return self.backup(volume_id, container=container)
        finally:
            os.remove(blocked)

    def delete(self, backup_id):
        self.demo.backups.delete(backup_id)
        self.wait_gone(lambda: self.demo.backups.get(backup_id))

    def on_disk(self, backup_id):
        """Bytes of every file this backup wrote, by os.stat."""
        total = 0
        for folder, _, names in os.walk(self.cinder.backup_posix_path):
            for name in names:
                if f'backup_{backup_id}' in name:
                    total += os.stat(os.path.join(folder, name)).st_size
        return total

    def samples(self, resource_id, name):
        return [
            s
            for s in self.agent.samples()
            if s['resource_id'] == resource_id and s['name'] == name
        ]

    def measures(self, resource_id, metric, aggregation='mean'):
        return [
            value
            for _, _, value in self.gnocchi.metric.get_measures(
                metric,
                resource_id=resource_id,
                aggregation=aggregation,
                granularity=1,
                refresh=True,
            )
        ]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def wait_for(check, timeout=120):
    """``check()`` once it neither fails an assertion nor finds nothing:
    a check that returns something (a list of samples) must find some."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
            assert found is None or found, 'nothing yet'
            return found
        except (AssertionError, gnocchi_exc.NotFound):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
