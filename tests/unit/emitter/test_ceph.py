"""The Ceph driver's metering, with a stand-in ``rbd`` on PATH.

The real rbd, on a real Ceph, is in tests/cinder_harness/test_ceph_driver.py
and tests/functional/test_ceph_stack.py.
"""

import logging
import os
import subprocess
import sys
import textwrap

import pytest
from cinder.backup.drivers import ceph as ceph_driver

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import ceph, store
from tests.support import MIB, cinder_objects

EXPORT = ['rbd', 'export-diff', '--id', 'cinder', '--conf', '/etc/ceph/c.conf',
          '--pool', 'volumes', '--from-snap', 'backup.1.snap.1',
          'volumes/volume-1@backup.2.snap.2', '-']  # fmt: skip
# What the stand-in ``rbd diff`` lists: 4 MiB + 2 MiB of data, 1 MiB
# zeroed.
LISTING = """Offset  Length   Type
0       4194304  data
4194304 1048576  zero
8388608 2097152  data
"""
DATA = 6 * MIB


@pytest.fixture
def rbd(tmp_path, monkeypatch):
    """A stand-in ``rbd``: ``diff`` prints LISTING (or fails with
    FAKE_RBD_DIFF=fail), ``export-diff`` writes DATA bytes in 24 pieces
    over about FAKE_RBD_SECONDS."""
    script = tmp_path / 'rbd'
    script.write_text(
        f'#!{sys.executable}\n'
        + textwrap.dedent(
            f"""
            import os, sys, time
            if sys.argv[1] == 'diff':
                if os.environ.get('FAKE_RBD_DIFF') == 'fail':
                    sys.exit('rbd: error opening image: (2) No such file')
                sys.stdout.write({LISTING!r})
            elif sys.argv[1] == 'export-diff':
                seconds = float(os.environ.get('FAKE_RBD_SECONDS', '0'))
                for _ in range(24):
                    os.write(1, bytes({DATA} // 24))
                    time.sleep(seconds / 24)
            """
        )
    )
    script.chmod(0o755)
    monkeypatch.setenv('PATH', f'{tmp_path}:{os.environ["PATH"]}')
    return monkeypatch


class CephDriver(ceph_driver.CephBackupDriver):
    """Cinder's CephBackupDriver as far as the metering goes."""

    def __init__(self, import_status=0):  # no cluster to connect to
        self.import_status = import_status

    def _piped_execute(self, cmd1, cmd2):
        p1 = subprocess.Popen(cmd1, stdout=subprocess.PIPE)
        p2 = subprocess.Popen(cmd2, stdin=p1.stdout, stdout=subprocess.PIPE)
        p1.stdout.close()
        p2.communicate()
        p1.wait()
        return p1.returncode or p2.returncode, b''

    def backup(self):
        drain = ['sh', '-c', f'cat >/dev/null; exit {self.import_status}']
        return self._piped_execute(EXPORT, drain)


def _run(notifier, driver, operation=c.CREATE):
    backup = cinder_objects.backup(size=1)
    with notifier.operation(None, backup, operation) as op:
        with store.metered(driver, op) as counts:
            result = driver.backup()
    notifier.flush()
    return result, counts.figures()


def test_diff_command_lists_what_the_export_sends():
    assert ceph.diff_command(EXPORT) == ['rbd', 'diff', *EXPORT[2:-1]]
    with pytest.raises(ValueError, match='not of the form'):
        ceph.diff_command(['rbd', 'export-diff', 'volumes/v@s', 'file'])


def test_data_bytes_counts_data_extents_only():
    assert ceph.data_bytes(LISTING.encode().splitlines()) == DATA
    assert ceph.data_bytes([]) == 0


def test_progress_follows_the_export_and_figures_are_the_diff(
    rbd, conf, notifier, recorded
):
    rbd.setenv('FAKE_RBD_SECONDS', '2.5')
    conf.set_override('progress_every_seconds', 1, 'backup_notifications')
    result, figures = _run(notifier, CephDriver())
    assert result == (0, b'')
    assert figures == {'stored_bytes': DATA, 'changed_bytes': DATA}
    progress = [m['payload'] for m in recorded.of('backup.createprogress')]
    percents = [p['backup_percent'] for p in progress]
    assert len(progress) >= 3, progress
    assert [p for p in percents if 0 < p < 100], percents
    assert percents == sorted(percents)
    # The volume's size until rbd diff has told (a loaded machine may
    # start it after the first report), the diff's from then on.
    totals = [p['bytes_total'] for p in progress]
    told = totals.index(DATA)
    assert set(totals[:told]) <= {1024**3}, totals
    assert set(totals[told:]) == {DATA}, totals
    # Once the export writes (a loaded machine may start it late).
    writing = [p for p in progress if p['bytes_done']]
    assert not [p for p in writing if p.get('idle_seconds')], progress


def test_a_restore_gets_progress_and_no_figures(rbd, notifier, recorded):
    # As on a real Ceph, the transfer outlasts the listing of its extents
    # (a restore does not wait for it: without it, the volume's size).
    rbd.setenv('FAKE_RBD_SECONDS', '2.5')
    _, figures = _run(notifier, CephDriver(), c.RESTORE)
    assert figures == {}
    (final,) = [m['payload'] for m in recorded.of('backup.restoreprogress')]
    assert (final['backup_percent'], final['bytes_total']) == (100.0, DATA)


def test_a_failed_diff_costs_the_figures_only(rbd, notifier, caplog):
    rbd.setenv('FAKE_RBD_DIFF', 'fail')
    with caplog.at_level(logging.WARNING):
        result, figures = _run(notifier, CephDriver())
    assert result == (0, b'')
    assert figures == {}
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'rbd diff failed (exit 1)' in warning
    assert 'No such file' in warning


def test_a_failed_transfer_reports_no_figures(rbd, notifier):
    result, figures = _run(notifier, CephDriver(import_status=3))
    assert result == (3, b'')
    assert figures == {}


def test_without_rbd_the_transfer_still_runs(notifier, caplog, monkeypatch):
    # No rbd for the diff; the driver's own transfer is Cinder's business.
    monkeypatch.setattr(ceph, 'diff_command', lambda cmd: ['/nonexistent'])
    driver = CephDriver()
    driver.backup = lambda: driver._piped_execute(
        ['sh', '-c', 'echo data'], ['sh', '-c', 'cat >/dev/null']
    )
    with caplog.at_level(logging.WARNING):
        result, figures = _run(notifier, driver)
    assert result == (0, b'')
    assert figures == {}
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'no progress and no stored or changed bytes' in warning


class FullCopyDriver(ceph_driver.CephBackupDriver):
    """Cinder's CephBackupDriver copying a file volume by chunks."""

    def __init__(self):
        pass

    def _transfer_data(self, src, src_name, dest, dest_name, length):
        while data := src.read(MIB):
            dest.write(data)


def test_a_full_copy_counts_what_it_writes(notifier, tmp_path):
    volume = tmp_path / 'volume'
    volume.write_bytes(os.urandom(3 * MIB) + bytes(MIB))
    written = tmp_path / 'image'
    driver = FullCopyDriver()
    with open(volume, 'rb') as src, open(written, 'wb') as dest:
        driver.backup = lambda: driver._transfer_data(
            src, 'v', dest, 'i', 4 * MIB
        )
        _, figures = _run(notifier, driver)
    size = os.path.getsize(written)
    assert figures == {'stored_bytes': size, 'changed_bytes': size}
    assert size == 4 * MIB


def test_a_watch_that_breaks_costs_progress_only(
    rbd, conf, notifier, recorded, caplog, monkeypatch
):
    def broken(*args):
        raise RuntimeError('no /proc here')

    monkeypatch.setattr(ceph, '_child', broken)
    rbd.setenv('FAKE_RBD_SECONDS', '2.5')
    conf.set_override('progress_every_seconds', 1, 'backup_notifications')
    with caplog.at_level(logging.WARNING):
        result, figures = _run(notifier, CephDriver())
    assert result == (0, b'')
    assert figures == {'stored_bytes': DATA, 'changed_bytes': DATA}
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'could not read how far its RBD transfer got' in warning
    percents = [
        m['payload']['backup_percent']
        for m in recorded.of('backup.createprogress')
    ]
    assert percents[-1] == 100.0
    assert set(percents[:-1]) == {0.0}


def test_another_driver_with_the_same_method_names_is_left_alone(
    rbd, notifier
):
    class Other:
        _piped_execute = CephDriver._piped_execute
        backup = CephDriver.backup
        import_status = 0

    driver = Other()
    with store.metered(driver, notifier.operation(None, None, c.CREATE)):
        assert '_piped_execute' not in vars(driver)
