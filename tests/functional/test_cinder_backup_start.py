"""cinder-backup, the real binary, with the shipped snippet and a
``wrapped_driver`` that is missing, misspelt or fine.

A configuration that names no loadable driver must stop cinder-backup at
once, with one line saying why, before it touches its database: this
minimal cinder.conf has no database schema, so a start that gets past the
check fails on the database instead, which tells the two apart.
"""

import os
import subprocess

import pytest

from testcloud.cinder import POSIX_BACKUP, SNIPPET
from testcloud.ground import ROOT
from testcloud.servers import VENVS

CANNOT_START = 'cinder-backup cannot start: '


def _start(tmp_path, wrapped_line):
    log = tmp_path / 'cinder-backup.log'
    conf = tmp_path / 'cinder.conf'
    conf.write_text(
        f"""[DEFAULT]
state_path = {tmp_path}
log_file = {log}
transport_url = rabbit://guest:guest@127.0.0.1:9/
[database]
connection = sqlite:///{tmp_path}/cinder.sqlite
[oslo_concurrency]
lock_path = {tmp_path}
"""
    )
    with open(SNIPPET) as f:
        shipped = f.read()
    snippet = tmp_path / 'snippet.conf'
    snippet.write_text(
        shipped.replace(f'wrapped_driver = {POSIX_BACKUP}\n', wrapped_line)
    )
    done = subprocess.run(
        [os.path.join(VENVS['cinder'], 'bin', 'cinder-backup'),
         '--config-file',
         str(conf), '--config-file', str(snippet)],
        capture_output=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    return done.returncode, log.read_text()


@pytest.mark.parametrize(
    'wrapped_line, why',
    [
        ('', '[backup_notifications] wrapped_driver is not set'),
        (
            'wrapped_driver = cinder.backup.drivers.posx.PosixBackupDriver\n',
            '[backup_notifications] wrapped_driver = cinder.backup.drivers.'
            'posx.PosixBackupDriver cannot be loaded: ModuleNotFoundError',
        ),
    ],
)
def test_no_start_without_a_driver_to_wrap(tmp_path, wrapped_line, why):
    code, log = _start(tmp_path, wrapped_line)
    assert code == 1
    (line,) = [line for line in log.splitlines() if CANNOT_START in line]
    assert ' ERROR ceilometer_backup.emitter.manager ' in line
    assert why in line
    assert 'Traceback' not in log
    assert 'no such table' not in log, 'stopped before the database'


def test_a_loadable_driver_gets_past_the_check(tmp_path):
    code, log = _start(tmp_path, f'wrapped_driver = {POSIX_BACKUP}\n')
    assert code != 0
    assert CANNOT_START not in log
    assert 'no such table: services' in log
