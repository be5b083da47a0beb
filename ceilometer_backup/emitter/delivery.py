"""Delivery: getting notifications to the broker without the backup waiting.

oslo.messaging's notifier retries forever by default while the broker is
unreachable, and a 1 TiB backup sends thousands of progress messages, so a
synchronous send could stall a backup for hours. Instead, messages are
queued (microseconds) and one worker thread per process sends them.

The queue is bounded. When it is full, progress messages are the first to
go: a newer progress message supersedes an older one anyway, whereas a
lost ``.end`` or ``.error`` loses billing or alerting data.

``Notifier.info`` never raises: its messaging driver catches what the
transport raises and logs it, and the notifier does the same around any
other driver. A failed send is seen where it is raised instead, whatever
the logging configuration (a silenced ``oslo_messaging`` logger, a
``disable_existing_loggers`` dictConfig): ``Watched`` has the notifier's
own transport and driver instances mark the sending thread when they
raise. Both are reached through oslo.messaging internals (listed in
``upstream.oslo_messaging``), checked when the notifier is made: one
missing is named in one ERROR, and the
failures it would have shown go unseen (counted as delivered).

Only ``threading`` primitives are used, looked up at call time, so the
worker is a green thread in an eventlet-patched process (cinder-backup)
and a native one elsewhere.
"""

import collections
import dataclasses
import functools
import os
import threading
import time

from oslo_log import log as logging

from ceilometer_backup import upstream
from ceilometer_backup.upstream import oslo_messaging

LOG = logging.getLogger(__name__)

# While the transport refuses messages, wait this long before the next try,
# doubling up to the maximum.
RETRY_START = 1.0
RETRY_MAX = 30.0


class DeliveryFailed(Exception):
    """The transport did not take the message: wait, then try again."""


class Message:
    """One notification waiting to be sent.

    ``owner`` is told when the message is dropped, so that an operation can
    report its own losses once instead of one line per message.
    """

    __slots__ = ('ctxt', 'event_type', 'payload', 'droppable', 'owner')

    def __init__(self, ctxt, event_type, payload, droppable, owner=None):
        self.ctxt = ctxt
        self.event_type = event_type
        self.payload = payload
        self.droppable = droppable
        self.owner = owner

    def dropped(self):
        if self.owner is not None:
            self.owner.message_dropped(self)


class BackgroundSender:
    """Sends queued messages with ``send(message)`` on one worker thread."""

    def __init__(self, send, max_queued):
        self._send = send
        self._max_queued = max_queued
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._worker = None
        self._worker_pid = None

    def __len__(self):
        return len(self._queue) + self._in_flight

    def submit(self, message):
        """Queue ``message``; False if it had to be dropped.

        A droppable message is dropped when the queue is full. Any other
        message evicts the oldest droppable one, and is dropped itself only
        when the queue holds nothing else to give up.
        """
        with self._cond:
            if len(self._queue) >= self._max_queued:
                if message.droppable or not self._evict_droppable():
                    message.dropped()
                    return False
            self._queue.append(message)
            self._ensure_worker()
            self._cond.notify_all()
        return True

    def _evict_droppable(self):
        for index, queued in enumerate(self._queue):
            if queued.droppable:
                del self._queue[index]
                queued.dropped()
                return True
        return False

    def _ensure_worker(self):
        # After a fork (cinder-backup forks its workers) the parent's worker
        # thread does not exist in the child: start a new one.
        pid = os.getpid()
        if self._worker is not None and self._worker_pid == pid:
            return
        worker = threading.Thread(
            target=self._run, name='backup-notification-sender', daemon=True
        )
        worker.start()  # if this raises, the next submit tries again
        self._worker, self._worker_pid = worker, pid

    def _run(self):
        backoff = 0.0
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                message = self._queue.popleft()
                self._in_flight += 1
            try:
                self._send(message)
                if backoff:
                    LOG.info('Backup notifications reach the broker again')
                backoff = 0.0
            except DeliveryFailed:
                backoff = self._undelivered(message, backoff)
            except Exception:
                LOG.warning(
                    'Could not send %(event)s notification for backup '
                    '%(backup)s',
                    {
                        'event': message.event_type,
                        'backup': message.payload.get('backup_id'),
                    },
                    exc_info=True,
                )
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()
            if backoff:
                time.sleep(backoff)

    def _undelivered(self, message, backoff):
        """Keep a lifecycle message for the next try; give up progress.

        Returns how long to wait before that try. Waiting, rather than
        failing every queued message at once, costs one error in the log
        per try instead of one per message, and keeps .end and .error.
        """
        if not backoff:
            LOG.warning(
                'Backup notifications are not reaching the message broker; '
                'trying again in %(start)ss, then up to every %(max)ss. '
                'Progress notifications are dropped meanwhile.',
                {'start': RETRY_START, 'max': RETRY_MAX},
            )
        with self._cond:
            if message.droppable:
                message.dropped()
            else:
                self._queue.appendleft(message)
        return min(max(backoff * 2, RETRY_START), RETRY_MAX)

    def flush(self, timeout):
        """Wait up to ``timeout`` seconds for the queue to drain.

        Returns whether it drained. Messages left are not lost: the worker
        keeps sending them after this returns.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True


class Watched:
    """An oslo.messaging ``Notifier`` (of a transport of its own) whose
    failed sends ``deliver`` sees: its transport and driver instances
    mark the sending thread when they raise."""

    def __init__(self, notifier):
        self._notifier = notifier
        self._failures = threading.local()
        drivers = getattr(notifier, oslo_messaging.DRIVERS.name, None)
        missing = [oslo_messaging.DRIVERS] if drivers is None else []
        watched = [(notifier.transport, oslo_messaging.TRANSPORT_SEND)] + [
            (extension.obj, oslo_messaging.DRIVER_SEND)
            for extension in drivers or ()
        ]
        for target, symbol in watched:
            name = symbol.name
            if callable(getattr(type(target), name, None)):
                setattr(
                    target, name, functools.partial(self._told, target, name)
                )
            else:
                # Named as the instance's class.
                missing.append(
                    dataclasses.replace(symbol, owner=type(target).__name__)
                )
        upstream.tell(LOG, oslo_messaging.PROJECT, missing)

    def _told(self, target, name, *args, **kwargs):
        """``target.name(...)``, marking this thread when it raises.
        Looked up on the class at each call: the instance's attribute is
        this."""
        try:
            return getattr(type(target), name)(target, *args, **kwargs)
        except Exception:
            self._failures.seen = True
            raise

    def _failed(self):
        """Whether a send on this thread failed since it last asked."""
        failed = getattr(self._failures, 'seen', False)
        self._failures.seen = False
        return failed

    def deliver(self, message):
        """Send ``message`` at INFO.

        Raises DeliveryFailed when a transport or driver of it raised.
        """
        self._failed()  # forget failures of earlier, unrelated sends
        self._notifier.info(message.ctxt, message.event_type, message.payload)
        if self._failed():
            raise DeliveryFailed(message.event_type)
