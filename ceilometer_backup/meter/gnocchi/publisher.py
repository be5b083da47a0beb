"""Ceilometer's Gnocchi publisher, for backups: whole resources, nothing lost.

Select it with ``backup-gnocchi://`` instead of ``gnocchi://`` (same query
options) in the pipeline sink of the backup meters. It is upstream's, with
the resource side of ``resources.py`` (resources created whole, ended on
deletion) and the outbox of ``outbox.py`` (what Gnocchi cannot take for
now kept on disk and sent in order, nothing posted twice). A batch
Gnocchi refuses for good (another 4xx) is logged once, with its count,
and dropped.

Upstream's internals it relies on are checked when the agent loads it:
each one this Ceilometer lacks is named in one ERROR, and what needs it
is off (the batch then goes upstream's way).
"""

import threading

from ceilometer.publisher import gnocchi
from oslo_log import log

from ceilometer_backup import opts, upstream
from ceilometer_backup.meter.gnocchi import outbox, resources
from ceilometer_backup.upstream import ceilometer

LOG = log.getLogger(__name__)


def _missing(publisher):
    """The names of upstream's internals this Ceilometer lacks, each
    told once."""
    return {
        symbol.name
        for symbol in upstream.check(
            LOG,
            ceilometer.PROJECT,
            sorted(ceilometer.SYMBOLS, key=str),
            # Its methods (some overridden here), and what its __init__
            # sets.
            lambda symbol: (
                hasattr(gnocchi.GnocchiPublisher, symbol.name)
                or symbol.name in vars(publisher)
            ),
        )
    }


class BackupGnocchiPublisher(gnocchi.GnocchiPublisher):
    def __init__(self, conf, parsed_url):
        super().__init__(conf, parsed_url)
        # What stopped this thread's batch, when a retry can succeed: set
        # within upstream's publish_samples (by batch_measures), read
        # around it.
        self._batch = threading.local()
        missing = _missing(self)
        self._whole = not missing & {'_create_resource', '_hash_resource'}
        self._ending = not missing & {'metric_map', '_gnocchi'}
        opts.register_publisher_opts(conf)
        options = conf[opts.PUBLISHER_GROUP]
        try:
            self._outbox = outbox.Outbox(
                options.spool_dir,
                options.spool_max_mb * outbox.MIB,
                self._post,
            )
        except OSError as exc:
            raise RuntimeError(
                f'[{opts.PUBLISHER_GROUP}] spool_dir {options.spool_dir} '
                f'cannot be used: {exc}'
            ) from exc
        self._outbox.resume()

    def publish_samples(self, data):
        self._outbox.publish(data)

    def _post(self, data):
        """Send ``data`` to Gnocchi: None once it has them, else what
        stopped them, when a retry can succeed."""
        if not data:
            return None
        self._batch.failure = None
        ended = resources.ended(data, self.metric_map) if self._ending else {}
        try:
            super().publish_samples(data)
            # Without upstream's client (``_ending`` off) nothing is ended.
            if self._batch.failure is None and ended:
                resources.end(self._gnocchi, ended)
        except Exception as exc:
            # Upstream lets its archive policy check raise.
            if not outbox.transient(exc):
                raise
            self._batch.failure = exc
        return self._batch.failure

    def batch_measures(self, measures, resource_infos):
        try:
            if self._whole and getattr(self, 'cache', None) is not None:
                resources.create_new(self, measures, resource_infos)
            super().batch_measures(measures, resource_infos)
        except outbox.REFUSALS as exc:
            if outbox.transient(exc):
                self._batch.failure = exc
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
        # The batch is kept and sent again: its attributes come again.
        if self._batch.failure is None:
            super()._if_not_cached(resource_type, res_id, resource_extra)
