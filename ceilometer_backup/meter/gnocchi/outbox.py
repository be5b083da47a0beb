"""What ``backup-gnocchi://`` sends to Gnocchi: each batch once, in the
order it was taken, across an outage and a restart.

A batch Gnocchi could not take for a reason that passes (unreachable,
timeout, 5xx, 429) is not dropped: it is kept on disk (``spool.py``), and
so is every later batch until the kept ones have gone, in order, once
Gnocchi answers. The agent acknowledges its messages as usual: an outage
costs the agent's other endpoints nothing (handing the batch back to the
broker, as an endpoint can, would replay every notification of it
through all of them and stall the listener), and measures reach Gnocchi
in the order they were taken, which an archive policy without a back
window (``ceilometer-low``) needs.

Samples already posted by this process are not posted again when their
batch comes back (their ids are stable across redelivery): a batch the
broker redelivers after a crash does not duplicate its measures.
"""

import collections
import threading
import time

from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc
from oslo_log import log

from ceilometer_backup.meter.gnocchi import spool

LOG = log.getLogger(__name__)

# Sample ids remembered as posted, per process: a few batches' worth.
POSTED_KEPT = 100_000
MIB = 1024 * 1024
# While Gnocchi cannot take the kept batches, wait this long between
# tries, doubling up to the maximum.
RETRY_START = 1.0
RETRY_MAX = 60.0

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
REFUSALS = (gnocchi_exc.ClientException, ka_exc.HttpError)


def transient(exc):
    """Whether a retry later can succeed where ``exc`` failed."""
    if isinstance(exc, _TRANSIENT):
        return True
    code = getattr(exc, 'code', None) or getattr(exc, 'http_status', None)
    return isinstance(code, int) and code >= 500


class Outbox:
    """Batches of samples to Gnocchi through ``post(samples)``: None once
    Gnocchi has them, else what stopped them when a retry can succeed
    (``transient``); what Gnocchi refuses for good it raises. OSError
    when ``directory`` cannot be used."""

    def __init__(self, directory, max_bytes, post):
        self.spool = spool.Spool(directory, max_bytes)
        self._post = post
        self._posted = collections.OrderedDict()
        self._posted_lock = threading.Lock()
        self._outage = False
        self._sender = None
        self._sender_lock = threading.Lock()

    def resume(self):
        """Send what an earlier run kept, before anything else."""
        kept = self.spool.batches()
        if kept:
            LOG.info(
                '%(count)d batches of backup samples kept in %(dir)s '
                'before this start: sending them to Gnocchi first',
                {'count': len(kept), 'dir': self.spool.directory},
            )
            self._send_kept()

    def publish(self, samples):
        samples = self._unposted(samples)
        if not samples:
            return
        try:
            kept = self.spool.batches()
        except OSError:
            kept = None  # posted directly; kept if Gnocchi refuses
        if kept:
            # Behind the kept ones, so that measures keep their order.
            self._keep(samples, None)
            return
        failure = self._post_once(samples)
        if failure is not None:
            self._keep(samples, failure)

    def _unposted(self, samples):
        with self._posted_lock:
            return [s for s in samples if s.id not in self._posted]

    def _post_once(self, samples):
        failure = self._post(samples)
        if failure is None:
            with self._posted_lock:
                for sample in samples:
                    self._posted[sample.id] = None
                while len(self._posted) > POSTED_KEPT:
                    self._posted.popitem(last=False)
        return failure

    def _keep(self, samples, failure):
        try:
            kept = self.spool.put(samples)
            reason = f'the spool is full ({self.spool.max_bytes // MIB} MiB)'
        except OSError as exc:
            kept, reason = False, f'the spool cannot be written: {exc}'
        if not kept:
            LOG.error(
                'Gnocchi could not take %(count)d backup samples and '
                '%(reason)s: dropped',
                {'count': len(samples), 'reason': reason},
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
                    'count': len(samples),
                    'error': failure,
                    'dir': self.spool.directory,
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
                with self.spool.sending() as ours:
                    if ours:
                        self._send_all()
                with self._sender_lock:
                    if not self.spool.batches():
                        self._sender = None
                        return
            except Exception:
                LOG.exception(
                    'Sending the backup samples kept in %(dir)s failed; '
                    'trying again in %(wait)ss',
                    {'dir': self.spool.directory, 'wait': RETRY_MAX},
                )
            # Another worker of this host sends them, or the spool failed.
            time.sleep(RETRY_MAX)

    def _send_all(self):
        sent, wait = 0, RETRY_START
        while names := self.spool.batches():
            name = names[0]
            try:
                batch = self.spool.read(name)
            except (OSError, ValueError) as exc:
                self._set_aside(name, spool.UNREADABLE, exc)
                continue
            try:
                failure = self._post_once(self._unposted(batch))
            except Exception as exc:
                self._set_aside(name, spool.REFUSED, exc)
                continue
            if failure is not None:
                time.sleep(wait)
                wait = min(wait * 2, RETRY_MAX)
                continue
            sent += 1
            wait = RETRY_START
            self.spool.remove(name)
        if sent:
            LOG.info(
                'Gnocchi takes backup samples again: %d kept batches sent',
                sent,
            )
        self._outage = False

    def _set_aside(self, name, suffix, exc):
        path = self.spool.set_aside(name, suffix)
        LOG.error(
            'Kept backup samples cannot be sent to Gnocchi (%(error)s): '
            'set aside as %(path)s',
            {'error': exc, 'path': path},
        )
