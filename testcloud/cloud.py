"""A real cloud as a tenant and an operator see it: the Stack's Cinder
through python-cinderclient (a tenant's, ``admin``), Telemetry's Gnocchi
and notification agent, and waits on both.

Several test modules share one started cloud, each as a tenant of its own
(``Cloud.as_tenant``) backing up to one store's backup host.
"""

import collections
import contextlib
import hashlib
import os
import time

from gnocchiclient import exceptions as gnocchi_exc

from testcloud.cinder import wait_gone, wait_status
from testcloud.ground import MIB, service_credentials
from testcloud.stack import Stack
from testcloud.telemetry import Telemetry

# [backup_polling] page_size of the shared cloud: a few hundred backups
# make several pages of real API.
PAGE = 100
# Its backup stores, the first in the volumes' zone.
STORES = ('posix', 'posix-pair', 'ceph', 'swift', 's3')


def shared_cloud(root, stores, ceph=None):
    """The cloud several test modules share, each as a tenant of its own
    (``Cloud.as_tenant``): a backup host for ``posix`` and each of
    ``stores`` (ordered as STORES), events to Aodh's listener as the docs
    say, on a RabbitMQ of its own; on a network (``Stack.cinder.hosts``) where
    hosts of their own reach its APIs, database and broker, as the backup
    hosts of ``posix-pair`` do."""
    return real_cloud(
        root,
        None,
        ceph=ceph,
        backup_stores=sorted({'posix', *stores}, key=STORES.index),
        network=True,
        alarm_events=True,
        polling=f'[backup_polling]\npage_size = {PAGE}\n',
    )


@contextlib.contextmanager
def real_cloud(
    root,
    rabbitmq,
    ceph=None,
    tls=None,
    keystone_gnocchi=False,
    backup_stores=None,
    network=False,
    **telemetry,
):
    """A Stack in ``root``/stack (on ``rabbitmq``, else one of its own;
    on ``ceph`` if given; a backup host for each of ``backup_stores``; a
    network of its own for hosts with ``network``: see Stack, Gnocchi
    then listening there too) and Telemetry polling it as the
    ``ceilometer`` user (``telemetry``: more of Telemetry's arguments), as
    a Cloud; over TLS with ``tls``'s
    certificates (testcloud.tls; ``rabbitmq`` should then be its);
    Gnocchi behind the stack's Keystone with ``keystone_gnocchi``."""
    credentials = {'cafile': tls.cafile} if tls else {}
    with (
        Stack(
            str(root / 'stack'),
            rabbitmq=rabbitmq,
            ceph=ceph,
            tls=tls,
            backup_stores=backup_stores,
            network=network,
        ) as stack,
        Telemetry(
            root,
            stack.rabbitmq,
            stack.postgresql,
            service_credentials(
                **stack.credentials('ceilometer'), **credentials
            ),
            tls=tls,
            keystone=stack.keystone if keystone_gnocchi else None,
            address=stack.network and stack.network.address,
            **telemetry,
        ) as telemetry,
    ):
        yield Cloud(stack, telemetry)


class Cloud:
    """The cloud as ``tenant`` (a Keystone user and project of that name)
    sees it, backing up to ``store``'s backup host (the first's by
    default), and as the operator does."""

    def __init__(self, stack, telemetry, tenant='demo', store=None):
        self.stack = stack
        self.cinder = stack.cinder
        cinder = stack.cinder
        self.backup_host = (
            cinder.hosts_of(store)[0] if store else cinder.default
        )
        self.user = tenant
        self.project_id = stack.keystone.project_ids[tenant]
        self.tenant = stack.cinder_client(tenant)
        self.admin = stack.cinder_client('admin')
        self.telemetry = telemetry
        self.gnocchi = telemetry.client
        self.agent = telemetry.notification
        self.rabbitmq = telemetry.rabbitmq

    @contextlib.contextmanager
    def as_tenant(self, name, store=None):
        """The same cloud as a new tenant ``name`` backing up to
        ``store``; once done, every backup and volume of its project is
        deleted, so that later modules' pollers do not list them."""
        self.stack.keystone.tenant(name)
        cloud = Cloud(self.stack, self.telemetry, name, store)
        try:
            yield cloud
        finally:
            cloud.delete_everything()

    def delete_everything(self, timeout=300):
        """Delete the project's backups, then its volumes, as the admin
        (whatever their status), and wait until they are gone."""
        mine = {'all_tenants': 1, 'project_id': self.project_id}
        for kind, delete in (
            (self.admin.backups, self._delete_backup),
            (self.admin.volumes, lambda v: v.force_delete()),
        ):
            for item in kind.list(search_opts=mine):
                delete(item)
            deadline = time.monotonic() + timeout
            while left := kind.list(search_opts=mine):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f'{len(left)} not deleted after {timeout} s: '
                        + ', '.join(f'{i.id} {i.status}' for i in left[:10])
                    )
                time.sleep(1)

    def _delete_backup(self, backup):
        """Not every driver can force a delete (Ceph's cannot): a backup
        neither available nor in error is put in error first."""
        if backup.status not in ('available', 'error'):
            backup.reset_state('error')
            self.wait(lambda: self.admin.backups.get(backup.id), 'error')
        backup.delete()

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
            for service in ('cinder-volume', self.backup_host.service):
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

    def volume(self, size=1):
        """A volume of the type the store's tests back up."""
        created = self.tenant.volumes.create(
            size, volume_type=self.backup_host.volume_type
        )
        return self.wait(
            lambda: self.tenant.volumes.get(created.id), 'available'
        )

    def backup(self, volume_id, **kwargs):
        created = self.create_backup(volume_id, **kwargs)
        return self.wait(
            lambda: self.tenant.backups.get(created.id), 'available', 'error'
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
        backup = self.create_backup(volume.id, name=name)
        wait_for(
            lambda: self.samples(backup.id, 'backup.progress'), timeout=180
        )
        return volume, backup

    def create_backup(self, volume_id, **kwargs):
        """A backup of the volume started on the store's backup host
        (Cinder's scheduler picks the one in its availability zone)."""
        return self.tenant.backups.create(
            volume_id, availability_zone=self.backup_host.zone, **kwargs
        )

    def restart_backup(self, **kwargs):
        """Cinder.restart_backup, of the store's backup host."""
        self.cinder.restart_backup(store=self.backup_host.store, **kwargs)

    def restored(self, backup_id):
        """A new volume of the store's type with ``backup_id`` restored
        into it, once done."""
        volume = self.volume(self.tenant.backups.get(backup_id).size)
        self.tenant.restores.restore(backup_id, volume.id)
        self.wait(lambda: self.tenant.backups.get(backup_id), 'available')
        return self.wait(
            lambda: self.tenant.volumes.get(volume.id), 'available'
        )

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
        self.tenant.backups.delete(backup_id)
        wait_gone(lambda: self.tenant.backups.get(backup_id))

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

    def reset_metered(self, backup_id, status):
        """The backup.size sample of an admin's reset of the backup to
        ``status`` (backup.reset_status.end), once published and the
        backup's Gnocchi resource has that status."""

        def metered():
            resets = [
                s
                for s in self.samples(backup_id, 'backup.size')
                if s['resource_metadata'].get('event_type')
                == 'backup.reset_status.end'
            ]
            assert resets, 'not metered yet'
            (reset,) = resets
            assert reset['resource_metadata']['status'] == status
            resource = self.gnocchi.resource.get('volume_backup', backup_id)
            assert resource['status'] == status
            return reset

        return wait_for(metered)

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
