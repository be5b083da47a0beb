"""One create, restore or delete of one backup, from start to end or error.

It sends ``.start``, progress, then ``.end`` or ``.error`` with the
operation's duration, measured here so that the Ceilometer side needs no
state to compute it. Nothing in here may raise into the backup: every
failure to build or queue a notification is logged and swallowed.

Used as a context manager, an exception from the body sends ``.error`` and
propagates unchanged::

    with notifier.operation(ctxt, backup, 'create') as op:
        for chunk in chunks:
            ...
            op.advance(len(chunk))
"""

import time

from oslo_log import log as logging

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.payload import (
    build_payload,
    progress_base,
    read_field,
)
from ceilometer_backup.emitter.progress import ProgressReporter

LOG = logging.getLogger(__name__)


def _ignore(nbytes, objects=1):
    """``advance`` of an operation that reports no progress."""


class BackupOperation:
    """Notifications of one operation on one backup.

    :param lifecycle: send ``.start`` and ``.end`` (errors are always sent).
        Off where Cinder's backup manager already sends them.
    :param total_bytes: bytes the operation will move, as the caller
        measured them (a volume file's size). The smaller of this and the
        backup's size in GiB is used, as a restore may write to a larger
        volume than was backed up.
    :param overrides: payload fields that win over the backup's own, in
        every notification of the operation.

    ``duration`` holds the operation's length in seconds once it ended;
    ``end_figures`` what the caller measured, sent with ``.end``.
    """

    def __init__(
        self,
        notifier,
        ctxt,
        backup,
        operation,
        lifecycle=True,
        total_bytes=None,
        overrides=None,
    ):
        self._notifier = notifier
        self._ctxt = ctxt
        self.backup = backup
        self.backup_id = read_field(backup, 'id')
        self.operation = operation
        self.lifecycle = lifecycle
        self._overrides = overrides or {}
        self._started = None
        self.duration = None
        self.end_figures = {}
        self._progress_base = None
        self.dropped = 0
        self._progress = None
        self.advance = _ignore
        conf = notifier.conf
        if notifier.enabled and operation in c.PROGRESS_EVENTS:
            self._progress = ProgressReporter(
                self._send_progress,
                total_bytes,
                conf.progress_every_objects,
                conf.progress_every_seconds,
            )
            self.advance = self._progress.advance

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            self.end()
        else:
            self.fail(exc)
        return False

    def _event(self, phase):
        return c.event_type(self.operation, phase)

    def start(self):
        self._started = time.monotonic()
        if not self._notifier.enabled:
            return
        try:
            self._progress_base = progress_base(
                build_payload(self.backup, **self._overrides)
            )
        except Exception:
            self._log_failure(self._event(c.START))
            self._progress_base = {'backup_id': self.backup_id}
        if self._progress is not None:
            self._progress.cap_total(
                (self._progress_base.get('size') or 0) * c.GIB
            )
            try:
                self._progress.start()  # the timer thread
            except Exception:
                self._log_failure(c.PROGRESS_EVENTS[self.operation])
        if self.lifecycle:
            self._send_lifecycle(c.START)

    @property
    def enabled(self):
        """Whether notifications are sent at all."""
        return self._notifier.enabled

    def watch(self, transfer):
        """Progress from a transfer that passes no volume file (see
        ``ProgressReporter.watch``); ``unwatch`` when it is over."""
        if self._progress is not None:
            self._progress.watch(transfer)

    def unwatch(self, completed=True):
        if self._progress is not None:
            self._progress.unwatch(completed)

    def end(self, **extra):
        """The operation succeeded: final progress, then ``.end``."""
        self._finish(c.END, True, extra)

    def fail(self, error, **extra):
        """The operation failed with ``error`` (exception or text)."""
        try:
            reason = str(error) or type(error).__name__
        except Exception:
            reason = type(error).__name__
        extra['fail_reason'] = reason[: c.STRING_MAX]
        self._finish(c.ERROR, False, extra)

    def _finish(self, phase, completed, extra):
        if self._started is not None:
            self.duration = round(time.monotonic() - self._started, 3)
        if not self._notifier.enabled:
            return
        if self._progress is not None:
            try:
                self._progress.stop(completed)
            except Exception:
                self._log_failure(c.PROGRESS_EVENTS[self.operation])
        if phase == c.END:
            extra = {**self.end_figures, **extra}
        if self.lifecycle or phase == c.ERROR:
            if self.duration is not None:
                extra['duration'] = self.duration
            self._send_lifecycle(phase, extra)
        self._notifier.flush()
        if self.dropped:
            LOG.warning(
                'Dropped %(count)d notifications of backup %(backup)s '
                '%(operation)s: the notification queue was full (is the '
                'message broker reachable?)',
                {
                    'count': self.dropped,
                    'backup': self.backup_id,
                    'operation': self.operation,
                },
            )

    def _send_lifecycle(self, phase, extra=None):
        event_type = self._event(phase)
        try:
            # Built afresh: status, size and object_count change while the
            # operation runs.
            payload = build_payload(
                self.backup, **{**self._overrides, **(extra or {})}
            )
            self._notifier.send(self._ctxt, event_type, payload, owner=self)
        except Exception:
            self._log_failure(event_type)

    def _send_progress(self, progress):
        event_type = c.PROGRESS_EVENTS[self.operation]
        try:
            payload = dict(self._progress_base)
            payload.update(progress)
            payload['operation'] = self.operation
            self._notifier.send(
                self._ctxt, event_type, payload, droppable=True, owner=self
            )
        except Exception:
            self._log_failure(event_type)

    def message_dropped(self, message):
        """Called by the sender, under its lock: count, log if it matters."""
        self.dropped += 1
        if not message.droppable:
            LOG.warning(
                'Dropped %(event)s notification of backup %(backup)s: the '
                'notification queue is full of undelivered lifecycle '
                'notifications',
                {'event': message.event_type, 'backup': self.backup_id},
            )

    def _log_failure(self, event_type):
        # Only ever called from an ``except`` block.
        LOG.warning(
            'Could not build or queue %(event)s notification for backup '
            '%(backup)s',
            {'event': event_type, 'backup': self.backup_id},
            exc_info=True,  # noqa: LOG014
        )
