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
  timeout, 5xx, 429) is not dropped: it is kept on disk (``spool``), and
  so is every later batch until the kept ones have gone, in order, once
  Gnocchi answers. The agent acknowledges its messages as usual: an
  outage costs the agent's other endpoints nothing (handing the batch
  back to the broker, as an endpoint can, would replay every
  notification of it through all of them and stall the listener), and
  measures reach Gnocchi in the order they were taken, which an archive
  policy without a back window (``ceilometer-low``) needs. A batch
  Gnocchi refuses for good (another 4xx) is logged once, with its count,
  and dropped.
- ``backup.delete.end`` sets the resource's ``ended_at`` here, in the same
  retried path, rather than through the event pipeline, whose failures
  upstream drops. It is set a millisecond after the batch's last measure
  of the backup: Gnocchi 4.7's metricd takes the end back (sets
  ``ended_at`` to null) when a resource receives a measure at or after
  its ``ended_at``, and the deletion's own measures are at its timestamp.

Upstream's internals it relies on are checked when the agent loads it:
each one this Ceilometer lacks is named in one ERROR, and what needs it
is off (the batch then goes upstream's way).

Samples already posted by this process are not posted again when their
batch comes back (their ids are stable across redelivery): a batch the
broker redelivers after a crash does not duplicate its measures.
"""

import collections
import datetime
import threading
import time

from ceilometer.publisher import gnocchi
from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc
from oslo_log import log

from ceilometer_backup import contract as c
from ceilometer_backup import opts, upstream
from ceilometer_backup.meter.gnocchi import spool

LOG = log.getLogger(__name__)

DELETE_END = c.event_type(c.DELETE, c.END)
# How long after its last measure a deleted backup's resource ends.
ENDED_AFTER = datetime.timedelta(milliseconds=1)
# Sample ids remembered as posted, per process: a few batches' worth.
POSTED_KEPT = 100_000
MIB = 1024 * 1024
# While Gnocchi cannot take the kept batches, wait this long between
# tries, doubling up to the maximum.
RETRY_START = 1.0
RETRY_MAX = 60.0

# Upstream's internals used here, and what goes without each.
_WHOLE = 'new resources are created as upstream creates them'
_ENDS = (
    'deleted backups are not ended by the publisher (run ceilometer-backup '
    'reconcile)'
)
UPSTREAM = {
    'batch_measures': 'batches Gnocchi cannot take are dropped, not kept',
    '_if_not_cached': 'attributes of a batch Gnocchi could not take are '
    'updated anyway',
    '_create_resource': _WHOLE,
    '_hash_resource': _WHOLE,
    'cache': _WHOLE,
    'metric_map': _ENDS,
    '_gnocchi': _ENDS,
}

_TRANSIENT = (
    gnocchi_exc.ConnectionFailure,
    gnocchi_exc.ConnectionTimeout,
    gnocchi_exc.UnknownConnectionError,
    gnocchi_exc.RetryAfterException,
    ka_exc.ConnectFailure,
    ka_exc.ConnectTimeout,
    ka_exc.UnknownConnectionError,
)


# What a request to Gnocchi can answer: gnocchiclient's errors, and
# keystoneauth's HTTP ones (a Keystone 5xx while renewing the token).
_REFUSALS = (gnocchi_exc.ClientException, ka_exc.HttpError)


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


def _missing(publisher):
    """Upstream's internals this Ceilometer lacks, each named once."""
    missing = {
        name
        for name in UPSTREAM
        # Its methods (some overridden here), and what its __init__ sets.
        if not hasattr(gnocchi.GnocchiPublisher, name)
        and name not in vars(publisher)
    }
    for name in sorted(missing):
        upstream.log_missing(
            LOG, 'Ceilometer', f'GnocchiPublisher.{name}', UPSTREAM[name]
        )
    return missing


class BackupGnocchiPublisher(gnocchi.GnocchiPublisher):
    def __init__(self, conf, parsed_url):
        super().__init__(conf, parsed_url)
        missing = _missing(self)
        self._whole = not missing & {'_create_resource', '_hash_resource'}
        self._ending = not missing & {'metric_map', '_gnocchi'}
        self._posted = collections.OrderedDict()
        self._posted_lock = threading.Lock()
        opts.register_publisher_opts(conf)
        options = conf[opts.PUBLISHER_GROUP]
        try:
            self._spool = spool.Spool(
                options.spool_dir, options.spool_max_mb * MIB
            )
        except OSError as exc:
            raise RuntimeError(
                f'[{opts.PUBLISHER_GROUP}] spool_dir {options.spool_dir} '
                f'cannot be used: {exc}'
            ) from exc
        self._outage = False
        self._sender = None
        self._sender_lock = threading.Lock()
        kept = self._spool.batches()
        if kept:
            LOG.info(
                '%(count)d batches of backup samples kept in %(dir)s '
                'before this start: sending them to Gnocchi first',
                {'count': len(kept), 'dir': options.spool_dir},
            )
            self._send_kept()

    def publish_samples(self, data):
        data = self._unposted(data)
        if not data:
            return
        try:
            kept = self._spool.batches()
        except OSError:
            kept = None  # posted directly; kept if Gnocchi refuses
        if kept:
            # Behind the kept ones, so that measures keep their order.
            self._keep(data, None)
            return
        failure = self._post(data)
        if failure is not None:
            self._keep(data, failure)

    def _unposted(self, samples):
        with self._posted_lock:
            return [s for s in samples if s.id not in self._posted]

    def _post(self, data):
        """Send ``data`` to Gnocchi: None once it has them, else what
        stopped them, when a retry can succeed."""
        if not data:
            return None
        _batch.failure = None
        ended = _ended(data, self.metric_map) if self._ending else {}
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
        return _batch.failure

    def _keep(self, data, failure):
        try:
            kept = self._spool.put(data)
            reason = f'the spool is full ({self._spool.max_bytes // MIB} MiB)'
        except OSError as exc:
            kept, reason = False, f'the spool cannot be written: {exc}'
        if not kept:
            LOG.error(
                'Gnocchi could not take %(count)d backup samples and '
                '%(reason)s: dropped',
                {'count': len(data), 'reason': reason},
            )
            return
        if failure is not None and not self._outage:
            self._outage = True
            LOG.warning(
                'Gnocchi could not take %(count)d backup samples '
                '(%(error)s): kept in %(dir)s with every later batch, and '
                'sent in order once it answers, tried every %(start)ss at '
                'first, up to every %(max)ss',
                {
                    'count': len(data),
                    'error': failure,
                    'dir': self._spool.directory,
                    'start': RETRY_START,
                    'max': RETRY_MAX,
                },
            )
        self._send_kept()

    def _send_kept(self):
        with self._sender_lock:
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send,
                    name='backup-gnocchi-spool',
                    daemon=True,
                )
                self._sender.start()

    def _send(self):
        """The sender thread: lives while the spool holds batches, and does
        not die of an error: batches kept after it would wait for nothing."""
        while True:
            try:
                with self._spool.sending() as ours:
                    if ours:
                        self._send_all()
                with self._sender_lock:
                    if not self._spool.batches():
                        self._sender = None
                        return
            except Exception:
                LOG.exception(
                    'Sending the backup samples kept in %(dir)s failed; '
                    'trying again in %(wait)ss',
                    {'dir': self._spool.directory, 'wait': RETRY_MAX},
                )
            # Another worker of this host sends them, or the spool failed.
            time.sleep(RETRY_MAX)

    def _send_all(self):
        sent, wait = 0, RETRY_START
        while names := self._spool.batches():
            name = names[0]
            try:
                batch = self._spool.read(name)
            except (OSError, ValueError) as exc:
                self._set_aside(name, spool.UNREADABLE, exc)
                continue
            try:
                failure = self._post(self._unposted(batch))
            except Exception as exc:
                self._set_aside(name, spool.REFUSED, exc)
                continue
            if failure is not None:
                time.sleep(wait)
                wait = min(wait * 2, RETRY_MAX)
                continue
            sent += 1
            wait = RETRY_START
            self._spool.remove(name)
        if sent:
            LOG.info(
                'Gnocchi takes backup samples again: %d kept batches sent',
                sent,
            )
        self._outage = False

    def _set_aside(self, name, suffix, exc):
        path = self._spool.set_aside(name, suffix)
        LOG.error(
            'Kept backup samples cannot be sent to Gnocchi (%(error)s): '
            'set aside as %(path)s',
            {'error': exc, 'path': path},
        )

    def _remember_posted(self, samples):
        with self._posted_lock:
            for sample in samples:
                self._posted[sample.id] = None
            while len(self._posted) > POSTED_KEPT:
                self._posted.popitem(last=False)

    def batch_measures(self, measures, resource_infos):
        try:
            if self._whole and getattr(self, 'cache', None) is not None:
                for resource_id, info in resource_infos.items():
                    metrics = measures.get(resource_id)
                    if metrics and not self.cache.get(resource_id):
                        self._create_whole(info, metrics)
            super().batch_measures(measures, resource_infos)
        except _REFUSALS as exc:
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
        except _REFUSALS as e:
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
