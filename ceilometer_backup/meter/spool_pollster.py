"""``backup_spool.size``: what a host's notification agent keeps for
Gnocchi, polled on that host for its Prometheus exporter.

The spool grows only while Gnocchi does not take backup samples, so a
sample about it sent towards Gnocchi would wait in the same spool; the
central agent's exporter shows it at once. Every central agent samples
the spool of its own host: the discovery has no partitioning group.
"""

from ceilometer.polling import plugin_base
from ceilometer.sample import Sample
from oslo_log import log as logging
from oslo_utils import timeutils

from ceilometer_backup import opts
from ceilometer_backup.meter import meters
from ceilometer_backup.meter.gnocchi.outbox import MIB
from ceilometer_backup.meter.gnocchi.spool import Spool

LOG = logging.getLogger(__name__)


def _unreadable(directory, exc):
    # The agent's directory is 0700, under its user's home.
    LOG.error(
        'Could not read the backup sample spool %(dir)s: %(error)s. The '
        "central agent must run as the notification agent's user to "
        'sample it.',
        {'dir': directory, 'error': exc},
    )


class SpoolDiscovery(plugin_base.DiscoveryBase):
    """``backup_spool``: this host's spool, once a ``backup-gnocchi://``
    publisher here has made its directory."""

    def __init__(self, conf):
        super().__init__(conf)
        opts.register_publisher_opts(conf)

    @property
    def group_id(self):
        # Out of workload partitioning: each host has its own spool.
        return None

    def discover(self, manager, param=None):
        options = self.conf[opts.PUBLISHER_GROUP]
        try:
            spool = Spool(
                options.spool_dir, options.spool_max_mb * MIB, make=False
            )
            return [spool]
        except FileNotFoundError:
            return []
        except OSError as exc:
            _unreadable(options.spool_dir, exc)
            return []


class BackupSpoolPollster(plugin_base.PollsterBase):
    @property
    def default_discovery(self):
        return 'backup_spool'

    def get_samples(self, manager, cache, resources):
        meter = meters.SPOOL
        for spool in resources:
            try:
                held = spool.held()
                batches = len(spool.batches())
            except OSError as exc:
                _unreadable(spool.directory, exc)
                continue
            yield Sample(
                name=meter.name,
                type=meter.type,
                unit=meter.unit,
                volume=held,
                user_id=None,
                project_id=None,
                resource_id=self.conf.host,
                timestamp=timeutils.utcnow().isoformat(),
                resource_metadata={
                    'batches': batches,
                    'spool_max_bytes': spool.max_bytes,
                },
            )
