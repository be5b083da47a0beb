"""Ceilometer's Gnocchi publisher, creating new resources whole.

Upstream posts a batch of measures, gets 400 "Unknown resources" back if
any resource in it is new, creates those resources one by one without
their metrics, and posts the batch again; Gnocchi then creates each
missing metric in a transaction of its own. Backups are new resources all
the time (a backup's whole life is a few minutes of notifications), so on
the benchmark-4 stack that path is most of Gnocchi's work. Here the
resources this publisher has not seen yet are created first, each with the
metrics the batch carries for it in the same request, and the batch is
posted once. Everything else is the upstream publisher's, failures
included: Gnocchi unreachable fails the batch as upstream's post does,
and any other failure to create leaves the resource to upstream's path.

Select it with ``backup-gnocchi://`` instead of ``gnocchi://`` (same
query options) in the pipeline sink of the backup meters.
"""

from ceilometer.publisher import gnocchi
from gnocchiclient import exceptions as gnocchi_exc
from oslo_log import log

LOG = log.getLogger(__name__)


class BackupGnocchiPublisher(gnocchi.GnocchiPublisher):
    def batch_measures(self, measures, resource_infos):
        if self.cache is not None:
            for resource_id, info in resource_infos.items():
                if resource_id in measures and not self.cache.get(resource_id):
                    self._create_whole(info, measures[resource_id])
        super().batch_measures(measures, resource_infos)

    def _create_whole(self, info, metrics):
        """Create the resource with its metrics. Gnocchi unreachable fails
        the batch; any other failure leaves the resource to upstream's
        path, which creates it or logs why not."""
        resource = dict(
            info['resource'],
            **info['resource_extra'],
            metrics={
                name: {
                    'archive_policy_name': metric['archive_policy_name'],
                    'unit': metric['unit'],
                }
                for name, metric in metrics.items()
            },
        )
        try:
            self._create_resource(info['resource_type'], resource)
        except gnocchi_exc.ResourceAlreadyExists:
            # Created before this process started, or by another batch in
            # flight: the measures go to it, and the attributes are
            # compared and updated after the post as upstream does.
            return
        except gnocchi_exc.ConnectionFailure:
            # Gnocchi is unreachable (keystoneauth has retried already): the
            # batch fails as upstream's own post would, and upstream logs
            # it, rather than waiting through the retries a second time.
            raise
        except gnocchi_exc.ClientException as e:
            LOG.debug(
                'Creating resource %s with its metrics failed (%s); '
                'the upstream path retries it',
                resource['id'],
                e,
            )
            return
        self.cache.set(
            resource['id'], self._hash_resource(info['resource_extra'])
        )
