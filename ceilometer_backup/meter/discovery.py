"""``cinder_backups``: every backup of every project, for the pollsters.

The ``ceilometer.discover.central`` plugin run by ``ceilometer-polling
--polling-namespaces central``; the listing itself is
``ceilometer_backup.meter.cinder``.
"""

from ceilometer.polling import plugin_base
from ceilometer.sample import Sample
from oslo_log import log as logging

from ceilometer_backup import upstream
from ceilometer_backup.meter.cinder import CinderBackups
from ceilometer_backup.upstream import ceilometer

LOG = logging.getLogger(__name__)


class BackupDiscovery(plugin_base.DiscoveryBase):
    """``cinder_backups``: all backups of all projects, one ERROR if not."""

    KEYSTONE_REQUIRED_FOR_SERVICE = 'cinder'

    def __init__(self, conf):
        super().__init__(conf)
        self.backups = CinderBackups(conf)
        # Its pollsters' samples keep the listing's time through it.
        upstream.check(
            LOG,
            ceilometer.PROJECT,
            ceilometer.POLLED,
            lambda symbol: hasattr(Sample, symbol.name),
        )

    def discover(self, manager, param=None):
        try:
            return self.backups.records()
        except Exception as exc:
            # The polling manager would log a traceback for each cycle;
            # one line saying where is what an operator can act on.
            LOG.error(
                'Could not list backups from Cinder at %(endpoint)s: '
                '%(error)s. Trying again next polling cycle.',
                {'endpoint': self.backups.endpoint(), 'error': exc},
            )
            return []
