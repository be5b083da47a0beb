"""``backup.size``, ``backup``, ``backup.status`` and ``backup.stored.size``
from polling, for every discovered backup; ``backup.idle`` for those a
dead cinder-backup host left under way.

They share the ``cinder_backups`` discovery (the polling manager lists the
backups once per cycle for all) and produce the same meters, resource id,
user, project and metadata as the notification path, so both feed the same
Gnocchi metrics and a lost notification heals at the next poll.
"""

from ceilometer.polling import plugin_base
from ceilometer.sample import Sample
from oslo_log import log as logging
from oslo_utils import timeutils

from ceilometer_backup.meter import meters
from ceilometer_backup.meter.cinder import IN_FLIGHT_STATUSES, CinderBackups
from ceilometer_backup.meter.gnocchi.stored import StoredSizes
from ceilometer_backup.meter.metadata import metadata_value
from ceilometer_backup.meter.tls import tls_failure

LOG = logging.getLogger(__name__)


class ListedSample(Sample):
    """A polled sample stamped when its backup was listed.

    The polling manager restamps every polled sample with the time it
    started sampling, after the listing. A backup deleted in between
    would get a measure after its deletion, and Gnocchi's metricd takes
    back the end of a resource that receives one. Cinder read the backup
    after the listing began, so that time is never after its deletion.
    """

    def set_timestamp(self, timestamp):
        # The manager's call: the listing's time stands.
        pass


class _BackupPollster(plugin_base.PollsterBase):
    meter = None
    sample_class = ListedSample

    @property
    def default_discovery(self):
        return 'cinder_backups'

    def volume(self, record):
        raise NotImplementedError

    def metadata(self, record):
        return record.metadata

    def get_samples(self, manager, cache, resources):
        meter = self.meter
        for record in resources:
            volume = self.volume(record)
            if volume is None:
                continue
            yield self.sample_class(
                name=meter.name,
                type=meter.type,
                unit=meter.unit,
                volume=volume,
                user_id=record.user_id,
                project_id=record.project_id,
                resource_id=record.id,
                timestamp=record.listed_at,
                resource_metadata=self.metadata(record),
            )


class BackupSizePollster(_BackupPollster):
    meter = meters.SIZE

    def volume(self, record):
        return record.size


class BackupPollster(_BackupPollster):
    meter = meters.EXISTENCE

    def volume(self, record):
        return 1


# backup.status values. An alert selects backups in error by the `state`
# label as well: Ceilometer's Prometheus exporter turns no metadata key
# of a backup into a label but `alarm_state`, which it names `state`.
STATUS_VALUES = {
    'available': 0,
    'creating': 1,
    'restoring': 2,
    'deleting': 3,
    'error': 4,
}
OTHER_STATUS = -1


class BackupStatusPollster(_BackupPollster):
    meter = meters.STATUS

    def volume(self, record):
        return STATUS_VALUES.get(record.status, OTHER_STATUS)

    def metadata(self, record):
        metadata = record.metadata
        metadata['alarm_state'] = metadata.get('status') or 'unknown'
        return metadata


class BackupStoredSizePollster(_BackupPollster):
    """What each backup holds, every cycle, so storage is rated by the
    period: its create's figure, read back from Gnocchi
    (meter/gnocchi/stored.py).

    A backup in error holds nothing to restore and is not sampled; nor is
    one whose create was never counted (made before this plugin, or by a
    driver it cannot count): those are told once a cycle.
    """

    meter = meters.STORED
    # Nothing held yet, or nothing worth billing.
    UNHELD_STATUSES = frozenset({'creating', 'error'})

    def __init__(self, conf):
        super().__init__(conf)
        self.stored = StoredSizes(conf)
        self._held = {}

    def get_samples(self, manager, cache, resources):
        try:
            self._held = self.stored.by_backup()
        except Exception as exc:
            LOG.error(
                'Could not read what backups hold from Gnocchi: %(error)s. '
                'No %(meter)s this polling cycle.',
                {
                    'error': tls_failure(exc, self.conf, 'gnocchi') or exc,
                    'meter': self.meter.name,
                },
            )
            return
        yield from super().get_samples(manager, cache, resources)
        untrusted = self.stored.untrusted
        if untrusted:
            LOG.warning(
                '%(count)d open volume_backup resources in Gnocchi were '
                "created by another project than Ceilometer's (a tenant "
                'may have made them before Ceilometer did): no %(meter)s '
                'from them. Restrict "create resource" in Gnocchi\'s '
                'policy; deleted, they are made again by Ceilometer, '
                'without the stored size of a backup already made.',
                {'count': len(untrusted), 'meter': self.meter.name},
            )
        uncounted = sum(
            1
            for record in resources
            if record.id not in self._held
            and record.id not in untrusted
            and record.status not in self.UNHELD_STATUSES
        )
        if uncounted:
            LOG.info(
                '%(count)d of %(listed)d backups have no stored size on '
                'their Gnocchi resource (made before ceilometer-backup '
                'counted them, or by a driver it does not count): no '
                '%(meter)s for them.',
                {
                    'count': uncounted,
                    'listed': len(resources),
                    'meter': self.meter.name,
                },
            )

    def volume(self, record):
        if record.status in self.UNHELD_STATUSES:
            return None
        return self._held.get(record.id)


class BackupStrandedPollster(_BackupPollster):
    """``backup.idle`` of a create or restore whose cinder-backup host is
    down: seconds since that host last reported to Cinder.

    The wrapper's progress reports say how long a running operation has
    moved nothing, but a host that died sends none, and Cinder leaves its
    backups ``creating`` or ``restoring`` until it starts again or an
    admin resets them. Sampled so, such a backup fires the stalled-backup
    alarm as a stalled one does. Cinder is asked (its services, then the
    backups of each host it counts as down) only in a cycle that lists a
    backup under way, so a quiet cloud costs nothing more.
    """

    meter = meters.IDLE
    # Stamped when sampled, as the idle time is counted: Aodh evaluates the
    # latest periods, and a backup under way cannot be deleted meanwhile.
    sample_class = Sample

    def __init__(self, conf):
        super().__init__(conf)
        self.cinder = CinderBackups(conf)
        self._stranded = {}
        self._now = None

    def get_samples(self, manager, cache, resources):
        resources = [r for r in resources if r.status in IN_FLIGHT_STATUSES]
        if not resources:
            return
        try:
            self._stranded = self.cinder.stranded()
        except Exception as exc:
            LOG.error(
                'Could not ask Cinder at %(endpoint)s which backup hosts '
                'are down: %(error)s. No %(meter)s of backups they left '
                'under way this polling cycle.',
                {
                    'endpoint': self.cinder.endpoint(),
                    'error': tls_failure(exc, self.conf, 'service_credentials')
                    or exc,
                    'meter': self.meter.name,
                },
            )
            return
        self._now = timeutils.utcnow()
        yield from super().get_samples(manager, cache, resources)

    def volume(self, record):
        if record.id not in self._stranded:
            return None
        _, last_report = self._stranded[record.id]
        since = self._now - timeutils.normalize_time(
            timeutils.parse_isotime(last_report)
        )
        return round(max(since.total_seconds(), 0.0), 1)

    def metadata(self, record):
        metadata = record.metadata
        host, _ = self._stranded[record.id]
        metadata['host'] = metadata_value(host)
        return metadata
