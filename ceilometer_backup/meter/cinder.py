"""The Cinder API client of the pollster and of ``reconcile``.

Lists every backup of every project with python-cinderclient over a
keystoneauth1 session built from Ceilometer's ``[service_credentials]``
(region, interface, CA options), asks for microversion 3.56 (project and
user ids on backups), and walks every page with marker and limit: Cinder
caps a page at osapi_max_limit.

Cinder's default policy lists every project's backups (``all_tenants``)
and names each one's project only to the ``admin`` role; to credentials
without it, it silently lists their own project's. Such a listing is
refused here (``NotWholeCloud``), never passed off as the cloud's: a
listed backup without its project says so, and an empty listing from
credentials without ``admin`` may, and Cinder's refusal (403) to
credentials with neither ``admin`` nor ``reader`` is told the same way,
and a TLS failure in one line (``meter/tls.py``).

The polling manager keeps a discovery's whole result for the cycle and,
when agents share the work, keeps the resources whose ``str()`` hashes to
it. So each backup is kept as a compact record (no client object, no raw
dict) whose string form is its id.
"""

import sys

from ceilometer import keystone_client
from cinderclient import api_versions, base
from cinderclient import exceptions as cinder_exceptions
from cinderclient.v3 import client as cinder_client
from oslo_log import log as logging
from oslo_utils import timeutils

from ceilometer_backup import opts, upstream
from ceilometer_backup.meter.metadata import backup_metadata
from ceilometer_backup.meter.tls import tls_failure
from ceilometer_backup.upstream import cinderclient

LOG = logging.getLogger(__name__)

# 3.56 puts user_id (and, since 3.18, the project) on listed backups.
MICROVERSION = '3.56'
OLDEST_MICROVERSION = '3.18'
PROJECT_ATTR = 'os-backup-project-attr:project_id'
# Gone, or going: nothing to bill.
SKIPPED_STATUSES = frozenset({'deleted', 'error_deleting'})
# A create or restore under way. Cinder leaves a backup so when the
# cinder-backup host running it dies, until that host starts again (its
# cleanup is per host) or an admin resets the backup's state.
IN_FLIGHT_STATUSES = ('creating', 'restoring')
BACKUP_BINARY = 'cinder-backup'
# API field -> payload key, where they differ.
_API_NAMES = {'name': 'display_name'}
_KEPT_API_FIELDS = (
    'name',
    'volume_id',
    'availability_zone',
    'status',
    'is_incremental',
    'container',
    'fail_reason',
    'snapshot_id',
    'created_at',
    'object_count',
    'data_timestamp',
)


def _shared(value):
    """Intern the strings many backups repeat (status, zone, project)."""
    return sys.intern(value) if isinstance(value, str) else value


# Metadata keys a listed backup has, in the order a record keeps values.
RECORD_METADATA_KEYS = tuple(_API_NAMES.get(f, f) for f in _KEPT_API_FIELDS)
_STATUS = RECORD_METADATA_KEYS.index('status')


class BackupRecord:
    """What polling needs of one backup, in little memory.

    Metadata is kept as a bare tuple of values in RECORD_METADATA_KEYS
    order: key/value pairs would cost twice the memory at 100 000 backups.
    ``listed_at``: when the listing that found it began (ISO 8601, UTC, one
    string shared by the whole listing); Cinder read the backup no
    earlier.
    """

    __slots__ = ('id', 'project_id', 'user_id', 'size', 'listed_at', '_values')

    def __init__(self, id, project_id, user_id, size, listed_at, values):
        self.id = id
        self.project_id = project_id
        self.user_id = user_id
        self.size = size
        self.listed_at = listed_at
        self._values = values

    @classmethod
    def from_api(cls, raw, listed_at):
        fields = {
            _API_NAMES.get(name, name): _shared(raw.get(name))
            for name in _KEPT_API_FIELDS
        }
        metadata = backup_metadata(fields)
        return cls(
            raw['id'],
            _shared(raw.get('project_id') or raw.get(PROJECT_ATTR)),
            _shared(raw.get('user_id')),
            raw.get('size'),
            listed_at,
            tuple(metadata[key] for key in RECORD_METADATA_KEYS),
        )

    @property
    def metadata(self):
        """Sample metadata, keyed as the notification path keys it.

        A backup without a name is named by its id: Ceilometer's
        Prometheus exporter labels a series with ``resource_name`` only
        when there is one, and a gauge whose series differ in label count
        raises, costing the rest of the polling cycle.
        """
        metadata = {
            key: value
            for key, value in zip(
                RECORD_METADATA_KEYS, self._values, strict=True
            )
            if value is not None
        }
        if not metadata.get('display_name'):
            metadata['display_name'] = self.id
        return metadata

    @property
    def status(self):
        return self._values[_STATUS]

    def __str__(self):
        return self.id

    def __repr__(self):
        return f'<BackupRecord {self.id}>'

    def __eq__(self, other):
        return isinstance(other, BackupRecord) and other.id == self.id

    def __hash__(self):
        return hash(self.id)


# The role Cinder's default policy lists every project's backups to.
ADMIN_ROLE = 'admin'


class NotWholeCloud(Exception):
    """Cinder lists these credentials their own project's backups, or
    none, rather than every project's."""


def _info(resource):
    """What Cinder listed of ``resource``, as the client keeps it."""
    return getattr(resource, cinderclient.INFO.name)


def _attributes(resource):
    """What the client set of ``resource``, without its own attributes
    (those its ``repr`` leaves out)."""
    return {
        name: value
        for name, value in vars(resource).items()
        if not name.startswith('_')
        and name not in ('manager', 'x_openstack_request_ids')
    }


class CinderBackups:
    """Lists backups page by page; picks the microversion once."""

    def __init__(self, conf):
        opts.register_polling_opts(conf)
        self.conf = conf
        # keystoneauth's own [service_credentials] options apply: cafile,
        # insecure, certfile, keyfile, timeout.
        self._session = keystone_client.get_session(conf)
        self._version = MICROVERSION
        self._client = None
        # A listed backup, as the client makes it (none: every internal
        # of it missing, told, and the attributes read instead).
        try:
            listed = vars(base.Resource(None, {}, loaded=True))
        except Exception:
            listed = {}
        missing = upstream.check(
            LOG,
            cinderclient.PROJECT,
            cinderclient.SYMBOLS,
            lambda symbol: symbol.name in listed,
        )
        self._raw = _attributes if missing else _info

    def _cinder(self):
        if self._client is None:
            creds = self.conf.service_credentials
            self._client = cinder_client.Client(
                session=self._session,
                service_type=self.conf.service_types.cinder,
                interface=creds.interface,
                region_name=creds.region_name,
                api_version=api_versions.APIVersion(self._version),
            )
        return self._client

    def endpoint(self):
        """The Cinder endpoint in use, for log lines; never raises."""
        creds = self.conf.service_credentials
        try:
            return self._session.get_endpoint(
                service_type=self.conf.service_types.cinder,
                interface=creds.interface,
                region_name=creds.region_name,
            )
        except Exception:
            auth_url = getattr(creds, 'auth_url', None)
            return (
                f'(the {self.conf.service_types.cinder} endpoint that '
                f'Keystone {auth_url} did not give)'
            )

    def _page(self, marker):
        try:
            return self._cinder().backups.list(
                detailed=True,
                search_opts={'all_tenants': 1},
                marker=marker,
                limit=self.conf.backup_polling.page_size,
            )
        except cinder_exceptions.NotAcceptable:
            if self._version == OLDEST_MICROVERSION:
                raise
            LOG.warning(
                'Cinder at %(endpoint)s does not support microversion '
                '%(wanted)s; listing backups with %(oldest)s, without user '
                'ids',
                {
                    'endpoint': self.endpoint(),
                    'wanted': MICROVERSION,
                    'oldest': OLDEST_MICROVERSION,
                },
            )
            self._version = OLDEST_MICROVERSION
            self._client = None
            return self._page(marker)

    def stranded(self):
        """backup id -> (host, when the host last reported) for every
        backup in IN_FLIGHT_STATUSES on a cinder-backup host Cinder counts
        as down: nothing moves such a backup, and no progress is sent."""
        client = self._cinder()
        # A service that never reported has no time to count from.
        down = {
            service.host: service.updated_at
            for service in client.services.list(binary=BACKUP_BINARY)
            if service.state == 'down' and getattr(service, 'updated_at', None)
        }
        found = {}
        for host, last_report in down.items():
            for status in IN_FLIGHT_STATUSES:
                # Cinder filters on any backup column for the admin role.
                for backup in client.backups.list(
                    detailed=False,
                    search_opts={
                        'all_tenants': 1, 'host': host, 'status': status
                    },
                ):  # fmt: skip
                    found[backup.id] = (host, last_report)
        return found

    def records(self):
        """Every backup but deleted ones, as BackupRecord, page by page;
        NotWholeCloud when Cinder shows these credentials less, TLSFailure
        when there is no TLS session to ask it."""
        try:
            return self._records()
        except Exception as exc:
            failure = tls_failure(exc, self.conf, 'service_credentials')
            if failure is None:
                raise
            raise failure from exc

    def _records(self):
        records = []
        listed_at = timeutils.utcnow().isoformat()
        marker = None
        listed = 0
        while True:
            try:
                page = self._page(marker)
            except cinder_exceptions.Forbidden as exc:
                raise self._not_whole_cloud(
                    f'refuses to list backups ({exc})',
                    why="Cinder lists every project's backups only to the "
                    f'{ADMIN_ROLE} role',
                ) from exc
            listed += len(page)
            for backup in page:
                raw = self._raw(backup)
                if PROJECT_ATTR not in raw:
                    raise self._not_whole_cloud(
                        'lists backups without their project'
                    )
                if raw.get('status') not in SKIPPED_STATUSES:
                    records.append(BackupRecord.from_api(raw, listed_at))
            if len(page) < self.conf.backup_polling.page_size:
                break
            marker = page[-1].id
        if not listed:
            access = self._session.auth.get_access(self._session)
            if ADMIN_ROLE not in access.role_names:
                raise self._not_whole_cloud('lists no backup', access)
        return records

    def _not_whole_cloud(self, seen, access=None, why=None):
        access = access or self._session.auth.get_access(self._session)
        why = why or (
            f'without the {ADMIN_ROLE} role Cinder lists only that '
            "project's backups, whatever all_tenants says"
        )
        return NotWholeCloud(
            f'Cinder {seen} to the [service_credentials] user '
            f'{access.username} in project {access.project_name} (roles: '
            f'{", ".join(sorted(access.role_names)) or "none"}): {why}. '
            f'Give that user the {ADMIN_ROLE} role in its project; nothing '
            "is taken as the cloud's backups until then"
        )
