"""``backup.size``, ``backup`` and ``backup.status`` from polling, for every
discovered backup.

They share the ``cinder_backups`` discovery (the polling manager lists the
backups once per cycle for both) and produce the same meters, resource id,
user, project and metadata as the notification path, so both feed the same
Gnocchi metrics and a lost notification heals at the next poll.
"""

from ceilometer.polling import plugin_base
from ceilometer.sample import Sample

from ceilometer_backup.meter import meters


class _BackupPollster(plugin_base.PollsterBase):
    meter = None

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
            yield Sample(
                name=meter.name,
                type=meter.type,
                unit=meter.unit,
                volume=volume,
                user_id=record.user_id,
                project_id=record.project_id,
                resource_id=record.id,
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
        return STATUS_VALUES.get(record.metadata.get('status'), OTHER_STATUS)

    def metadata(self, record):
        metadata = record.metadata
        metadata['alarm_state'] = metadata.get('status') or 'unknown'
        return metadata
