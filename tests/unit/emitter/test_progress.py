import json
import threading
import time

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.progress import ProgressReporter
from tests.support import MIB

TIB = 1024 * c.GIB
CHUNK = 50 * MIB


def _timer_threads():
    return [
        t for t in threading.enumerate() if t.name == 'backup-progress-timer'
    ]


def _simulate(total, every, chunk=CHUNK):
    reports = []
    progress = ProgressReporter(reports.append, total, every, 0)
    progress.start()
    done = 0
    while done < total:
        n = min(chunk, total - done)
        progress.advance(n)
        done += n
    progress.stop(completed=True)
    return reports


def test_four_tib_backup_percentages_are_bytes_based_and_monotonic():
    total = 4 * TIB
    reports = _simulate(total, every=10)
    chunks = -(-total // CHUNK)
    # One every 10 objects, plus the final one when 10 does not divide.
    assert len(reports) == chunks // 10 + (1 if chunks % 10 else 0)
    percents = [r['backup_percent'] for r in reports]
    assert percents == sorted(percents)
    assert all(0 <= p <= 100 for p in percents)
    assert percents[-1] == 100.0
    first = reports[0]
    assert first['bytes_done'] == 10 * CHUNK
    assert first['bytes_total'] == total
    # Cinder would report 10 * 10 * 100 / total, about 2.3e-10 %.
    assert first['backup_percent'] == round(10 * CHUNK * 100 / total, 2)
    assert reports[-1]['bytes_done'] == total


def test_no_duplicate_final_report_when_last_one_said_100():
    reports = _simulate(total=20 * CHUNK, every=10)
    assert [r['backup_percent'] for r in reports] == [50.0, 100.0]


def test_percentage_is_clamped_when_more_bytes_than_expected():
    reports = _simulate(total=10 * CHUNK, every=5, chunk=CHUNK * 3)
    assert max(r['backup_percent'] for r in reports) == 100.0


def test_unknown_total_reports_zero_until_the_end():
    reports = []
    progress = ProgressReporter(reports.append, None, 1, 0)
    progress.advance(CHUNK)
    progress.stop(completed=True)
    assert [r['backup_percent'] for r in reports] == [0.0, 100.0]


def test_failed_operation_sends_no_final_100():
    reports = []
    progress = ProgressReporter(reports.append, 100 * CHUNK, 10, 0)
    for _ in range(15):
        progress.advance(CHUNK)
    progress.stop(completed=False)
    assert [r['backup_percent'] for r in reports] == [10.0]


def test_object_count_trigger_off():
    reports = _simulate(total=100 * CHUNK, every=0)
    assert [r['backup_percent'] for r in reports] == [100.0]


def test_timer_reports_while_running_and_stops_with_the_operation():
    reports = []
    progress = ProgressReporter(reports.append, 100, 0, 0.02)
    progress.start()
    assert len(_timer_threads()) == 1
    progress.advance(40)
    deadline = time.monotonic() + 5
    while len(reports) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    progress.stop(completed=False)
    assert _timer_threads() == []
    count = len(reports)
    assert count >= 3
    time.sleep(0.1)
    assert len(reports) == count, 'the timer outlived its operation'
    assert reports[-1]['backup_percent'] == 40.0


def test_timer_off_starts_no_thread():
    progress = ProgressReporter(lambda p: None, 100, 10, 0)
    progress.start()
    assert _timer_threads() == []
    progress.stop(completed=True)


def test_timer_and_chunks_together_stay_monotonic():
    reports = []
    total = 20000 * MIB
    progress = ProgressReporter(reports.append, total, 7, 0.0005)
    progress.start()
    for _ in range(20000):
        progress.advance(MIB)
    progress.stop(completed=True)
    percents = [r['backup_percent'] for r in reports]
    assert percents == sorted(percents)
    assert len(percents) > 20000 // 7


def test_progress_extra_is_small_and_fixed_size():
    reports = _simulate(total=TIB, every=10)
    sizes = {len(json.dumps(r)) for r in reports}
    assert max(sizes) < 120


def test_a_completed_restore_that_skipped_trailing_zeros_is_all_done():
    reports = []
    reporter = ProgressReporter(reports.append, 8 * MIB, 1, 0)
    reporter.advance(2 * MIB)  # the rest of the volume is zeros: skipped
    reporter.stop(completed=True)
    assert reports[-1] == {
        'backup_percent': 100.0,
        'bytes_done': 8 * MIB,
        'bytes_total': 8 * MIB,
    }


def test_a_stalled_operation_reports_how_long_nothing_moved():
    """The timer keeps reporting a stalled operation; idle_seconds grows
    with the time since data last moved, as the test's clock measures it:
    no more than since the move, no less than since the first report that
    saw it (give or take its rounding; the timer may run late on a loaded
    machine, so not the move's time plus an interval). Reports of moving
    data leave it out, but for the first after the stall, which says 0."""
    interval = 0.1
    reports = []
    reporter = ProgressReporter(
        lambda extra: reports.append((time.monotonic(), extra)),
        8 * MIB,
        0,
        interval,
    )
    reporter.start()
    reporter.advance(MIB)
    moved = time.monotonic()
    time.sleep(12 * interval)
    advanced = []
    for _ in range(50):  # moving again
        reporter.advance(1)
        advanced.append(time.monotonic())
        time.sleep(interval / 10)
    reporter.stop(completed=False)
    first, *stalled = [(at, r) for at, r in reports if r['bytes_done'] == MIB]
    assert 'idle_seconds' not in first[1], 'it had just moved'
    assert len(stalled) >= 3
    for at, r in stalled:
        idle = r['idle_seconds']
        assert at - first[0] - 0.1 <= idle <= at - moved + 0.1
    assert stalled[-1][1]['idle_seconds'] >= 6 * interval
    moving = [(at, r) for at, r in reports if r['bytes_done'] > MIB]
    assert moving[0][1]['idle_seconds'] == 0.0
    # A report after data moved since the one before leaves it out (on a
    # loaded machine the loop above may itself pause for an interval);
    # a move within 5 ms of a report may fall on either side of it.
    moved_since = [
        r
        for (before, _), (at, r) in zip(moving, moving[1:], strict=False)
        if any(before + 0.005 < a < at - 0.005 for a in advanced)
    ]
    assert moved_since
    assert all('idle_seconds' not in r for r in moved_since)


class _Transfer:
    def __init__(self, moved, total):
        self.figures = (moved, total)

    def sample(self):
        return self.figures


def test_a_watched_transfer_gives_bytes_and_total_at_each_report():
    reports = []
    progress = ProgressReporter(reports.append, 1000, 0, 0)
    progress.advance(100)
    transfer = _Transfer(50, None)
    progress.watch(transfer)
    progress.report()
    transfer.figures = (200, 400)
    progress.report()
    progress.unwatch()
    assert [(r['bytes_done'], r['bytes_total']) for r in reports] == [
        (150, 1000),
        (300, 500),
    ]
    assert (progress.bytes_done, progress.total_bytes) == (300, 500)


def test_a_transfer_that_failed_leaves_the_figures_as_before_it():
    progress = ProgressReporter(lambda extra: None, 1000, 0, 0)
    progress.advance(100)
    progress.watch(_Transfer(300, 400))
    progress.report()
    progress.unwatch(completed=False)
    assert (progress.bytes_done, progress.total_bytes) == (100, 1000)
