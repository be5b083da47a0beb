"""``backup.size`` and ``backup`` from polling, for every discovered backup.

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
                resource_metadata=record.metadata,
            )


class BackupSizePollster(_BackupPollster):
    meter = meters.SIZE

    def volume(self, record):
        return record.size


class BackupPollster(_BackupPollster):
    meter = meters.EXISTENCE

    def volume(self, record):
        return 1
