"""Ceilometer's Gnocchi publisher, for backups: whole resources, nothing lost.

Select it with ``backup-gnocchi://`` instead of ``gnocchi://`` (same query
options) in the pipeline sink of the backup meters. Three things differ
from upstream's:

- New resources are created whole. Upstream posts a batch of measures,
  gets 400 "Unknown resources" back if any resource in it is new, creates
  those one by one without their metrics, and posts again; Gnocchi then
  creates each missing metric in a transaction of its own. Backups are new
  resources all the time, so here the resources this publisher has not
  seen yet are created first, each with the metrics the batch carries for
  it (and ``started_at`` at its first measure), and the batch is posted
  once. Any other failure to create leaves the resource to upstream's path.
- A batch Gnocchi could not take for a reason that passes (unreachable,
  timeout, 5xx, 429) is not dropped: the publisher records it for the
  thread that published, and the ``backup`` endpoint hands the whole
  batch back to the broker (``undelivered``). A batch Gnocchi refuses for
  good (another 4xx) is logged once, with its count, and dropped.
- ``backup.delete.end`` sets the resource's ``ended_at`` here, in the same
  retried path, rather than through the event pipeline, whose failures
  upstream drops. It is set a millisecond after the batch's last measure
  of the backup: Gnocchi 4.7's metricd takes the end back (sets
  ``ended_at`` to null) when a resource receives a measure at or after
  its ``ended_at``, and the deletion's own measures are at its timestamp.

Samples already posted by this process are not posted again when their
batch comes back (their ids are stable across redelivery), so a batch
requeued after a later step failed does not duplicate its measures.
"""

import collections
import datetime
import threading

from ceilometer.publisher import gnocchi
from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc
from oslo_log import log

from ceilometer_backup import contract as c

LOG = log.getLogger(__name__)

DELETE_END = c.event_type(c.DELETE, c.END)
# How long after its last measure a deleted backup's resource ends.
ENDED_AFTER = datetime.timedelta(milliseconds=1)
# Sample ids remembered as posted, per process: a few batches' worth.
POSTED_KEPT = 100_000

_TRANSIENT = (
    gnocchi_exc.ConnectionFailure,
    gnocchi_exc.ConnectionTimeout,
    gnocchi_exc.UnknownConnectionError,
    gnocchi_exc.RetryAfterException,
    ka_exc.ConnectFailure,
    ka_exc.ConnectTimeout,
    ka_exc.UnknownConnectionError,
)


def transient(exc):
    """Whether a retry later can succeed where ``exc`` failed."""
    if isinstance(exc, _TRANSIENT):
        return True
    code = getattr(exc, 'code', None) or getattr(exc, 'http_status', None)
    return isinstance(code, int) and code >= 500


_batch = threading.local()


def _ended(samples, metric_map):
    """{resource id: (its mapping, ended_at)} of the deleted backups."""
    deleted = {
        s.resource_id: metric_map[s.name]
        for s in samples
        if s.resource_metadata.get('event_type') == DELETE_END
        and s.name in metric_map
    }
    last = {}
    for sample in samples:
        if sample.resource_id in deleted:
            stamp = datetime.datetime.fromisoformat(sample.timestamp)
            last[sample.resource_id] = max(
                stamp, last.get(sample.resource_id, stamp)
            )
    return {
        resource_id: (
            definition,
            (last[resource_id] + ENDED_AFTER).isoformat(),
        )
        for resource_id, definition in deleted.items()
    }


def undelivered():
    """What stopped the last publish on this thread from reaching Gnocchi,
    if a retry can fix it; None otherwise. Asked once per publish."""
    failure = getattr(_batch, 'failure', None)
    _batch.failure = None
    return failure


class BackupGnocchiPublisher(gnocchi.GnocchiPublisher):
    def __init__(self, conf, parsed_url):
        super().__init__(conf, parsed_url)
        self._posted = collections.OrderedDict()
        self._posted_lock = threading.Lock()

    def publish_samples(self, data):
        _batch.failure = None
        with self._posted_lock:
            data = [s for s in data if s.id not in self._posted]
        if not data:
            return
        ended = _ended(data, self.metric_map)
        try:
            super().publish_samples(data)
            if _batch.failure is None:
                self._end(ended)
        except Exception as exc:
            # Upstream lets its archive policy check raise.
            if not transient(exc):
                raise
            _batch.failure = exc
        if _batch.failure is None:
            self._remember_posted(data)

    def _remember_posted(self, samples):
        with self._posted_lock:
            for sample in samples:
                self._posted[sample.id] = None
            while len(self._posted) > POSTED_KEPT:
                self._posted.popitem(last=False)

    def batch_measures(self, measures, resource_infos):
        try:
            if self.cache is not None:
                for resource_id, info in resource_infos.items():
                    metrics = measures.get(resource_id)
                    if metrics and not self.cache.get(resource_id):
                        self._create_whole(info, metrics)
            super().batch_measures(measures, resource_infos)
        except gnocchi_exc.ClientException as exc:
            if transient(exc):
                _batch.failure = exc
                return
            LOG.warning(
                'Gnocchi refused %(count)d measures of %(resources)d '
                'backups; dropped: %(error)s',
                {
                    'count': sum(
                        len(m['measures'])
                        for metrics in measures.values()
                        for m in metrics.values()
                    ),
                    'resources': len(measures),
                    'error': exc,
                },
            )

    def _if_not_cached(self, resource_type, res_id, resource_extra):
        # The batch goes back to the broker: its attributes come again.
        if _batch.failure is None:
            super()._if_not_cached(resource_type, res_id, resource_extra)

    def _create_whole(self, info, metrics):
        """Create the resource with its metrics. A transient failure fails
        the batch; any other leaves the resource to upstream's path, which
        creates it or logs why not."""
        resource = dict(
            info['resource'],
            **info['resource_extra'],
            # A resource created late (after an outage) may be ended by
            # this batch: it starts at its first measure, not now.
            started_at=min(
                m['timestamp']
                for metric in metrics.values()
                for m in metric['measures']
            ),
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
        except gnocchi_exc.ClientException as e:
            if transient(e):
                raise
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

    def _end(self, ended):
        """Set ``ended_at`` of the deleted backups' resources."""
        for resource_id, (definition, ended_at) in ended.items():
            try:
                self._gnocchi.resource.update(
                    definition.cfg['resource_type'],
                    resource_id,
                    {'ended_at': ended_at},
                )
            except gnocchi_exc.ClientException as exc:
                if transient(exc):
                    raise
                LOG.warning(
                    'Could not end the Gnocchi resource of deleted backup '
                    '%(id)s: %(error)s',
                    {'id': resource_id, 'error': exc},
                )
