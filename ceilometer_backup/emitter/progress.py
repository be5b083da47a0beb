"""Progress of one backup or restore: when to report, and what percentage.

Cinder's chunked drivers compute ``backup_percent`` as a number of blocks
times 100 divided by a number of bytes, so it sits near 1e-5 % until the
final message, and they put the cumulative chunk list in every message, so
messages grow with the volume (megabytes at 1 TiB). Here the percentage is
bytes done over bytes total, never decreases and stays within 0..100, and
a progress payload has a fixed size whatever the volume's.

``advance`` runs once per chunk on the backup's own thread: when no report
is due it only adds and compares integers. So how long nothing has moved
(``idle_seconds``) is told from the bytes done at each report and at the
previous one: the timer keeps reporting a stalled operation, whose
figure grows by about the interval each time. It is left out while data
moves, but for the first report after a stall, which says 0.

A transfer that passes no volume file through cinder-backup (Ceph's
``rbd export-diff | rbd import-diff``) is ``watch``ed instead: each report
asks it how far it got, so its figures are as fresh as the report.
"""

import threading
import time


class ProgressReporter:
    """Calls ``report(payload_extra)`` every N objects and every T seconds.

    ``every_objects`` = 0 and ``interval`` = 0 turn the respective trigger
    off. The timer thread lives from ``start`` to ``stop`` and no longer.
    """

    def __init__(self, report, total_bytes, every_objects, interval):
        self._report = report
        self._total_bytes = total_bytes if total_bytes else 0
        self.bytes_done = 0
        self._every = every_objects
        # Objects left until the next count-based report.
        self._countdown = every_objects or -1
        self._interval = interval
        self._last_percent = 0.0
        self._last_bytes = -1
        # When a report last found bytes done moved; whether the previous
        # report found them still.
        self._moved_at = None
        self._idle = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._timer = None
        self._transfer = None
        self._transfer_base = 0
        self._total_before = 0

    def start(self):
        if self._interval > 0:
            self._timer = threading.Thread(
                target=self._tick, name='backup-progress-timer', daemon=True
            )
            self._timer.start()

    def advance(self, nbytes, objects=1):
        """Account for ``nbytes`` and ``objects`` more transferred."""
        self.bytes_done += nbytes
        if self._every:
            self._countdown -= objects
            if self._countdown <= 0:
                self._countdown = self._every
                self.report()

    @property
    def total_bytes(self):
        """Bytes the operation will move: 0 while unknown."""
        return self._total_bytes

    def cap_total(self, bound):
        """At most ``bound`` bytes in all, where both are known (0: not
        known)."""
        with self._lock:
            self._total_bytes = min(
                (total for total in (self._total_bytes, bound) if total),
                default=0,
            )

    def watch(self, transfer):
        """Take bytes done from ``transfer.sample()`` -> ``(moved,
        total)`` (total None while unknown), added to those done before,
        at every report until ``unwatch``."""
        with self._lock:
            self._transfer = transfer
            self._transfer_base = self.bytes_done
            self._total_before = self._total_bytes

    def unwatch(self, completed=True):
        """Take the transfer's last figures and stop asking it; a transfer
        that did not complete leaves the figures as they were before it
        (Cinder's Ceph driver may then restore by another way)."""
        with self._lock:
            if completed:
                self._sample_transfer()
            else:
                self.bytes_done = self._transfer_base
                self._total_bytes = self._total_before
            self._transfer = None

    def _sample_transfer(self):
        if self._transfer is None:
            return
        moved, total = self._transfer.sample()
        self.bytes_done = self._transfer_base + moved
        if total is not None:
            self._total_bytes = self._transfer_base + total

    def _tick(self):
        while not self._stopped.wait(self._interval):
            self.report()

    def stop(self, completed):
        """Stop the timer; on success send the final 100 % report."""
        self._stopped.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        if completed:
            # All of it is done, whatever was not read or written: a
            # restore onto a new volume skips all-zero regions, the last
            # ones included.
            self.bytes_done = max(self.bytes_done, self.total_bytes)
        # The final report says 100 %, unless the last one already said so
        # for the same bytes.
        if completed and (
            self._last_percent < 100.0 or self._last_bytes != self.bytes_done
        ):
            self.report(final=True)

    def percent(self):
        if not self.total_bytes:
            return 0.0
        return min(100.0, round(self.bytes_done * 100.0 / self.total_bytes, 2))

    def report(self, final=False):
        # The timer thread and the backup thread both report: the lock keeps
        # their percentages in order on the queue.
        with self._lock:
            self._sample_transfer()
            now = time.monotonic()
            percent = (
                100.0 if final else max(self._last_percent, self.percent())
            )
            if self.bytes_done != self._last_bytes or final:
                self._moved_at = now
            self._last_percent = percent
            self._last_bytes = self.bytes_done
            extra = {
                'backup_percent': percent,
                'bytes_done': self.bytes_done,
                'bytes_total': self.total_bytes,
            }
            idle = round(now - self._moved_at, 1)
            if idle or self._idle:
                extra['idle_seconds'] = idle
            self._idle = bool(idle)
            self._report(extra)
