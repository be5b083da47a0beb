"""``tools/stack.sh`` as a person uses it: ``up``, a backup made by hand
with the commands it prints, its meters shown by the printed command,
``down``.

``up`` runs as tools/stack.sh runs it once provisioned (``python -m
testcloud``; the suite has provisioned already). Each printed
command runs as printed, in bash from the checkout, the placeholders
replaced by the ids the previous one printed. What the meters must say is
measured otherwise: the backup's files on disk.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from testcloud.ground import MIB, ROOT
from testcloud.stack import MAKE_A_BACKUP, group_members

GIB = 1024 * MIB


def _run(argv, timeout):
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _bash(line, timeout=120):
    done = _run(['bash', '-c', line], timeout)
    assert done.returncode == 0, (line, done.stdout, done.stderr)
    return done.stdout


def _field(table, name):
    """A field of the cinder CLI's table."""
    (value,) = re.findall(rf'^\|\s+{name}\s+\|\s+(\S+)\s+\|$', table, re.M)
    return value


def _until(get, done, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        found = get()
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(found)
        time.sleep(1)


@pytest.fixture
def up(tmp_path):
    workdir = tmp_path / 'stack'
    stack = [sys.executable, '-m', 'testcloud', '--dir', workdir]
    state = None
    try:
        started = _run([*stack, 'up'], 600)
        assert started.returncode == 0, started.stdout + started.stderr
        with open(workdir / 'stack.json') as f:
            state = json.load(f)
        yield started.stdout, state
    finally:
        stopped = _run([*stack, 'down'], 120)
        assert stopped.returncode == 0, stopped.stdout
        for group in state['process_groups'] if state else ():
            assert not group_members(group['pgid']), group


def test_a_backup_made_by_hand_shows_its_meters(up):
    printed, state = up
    names = [g['name'] for g in state['process_groups']]
    assert names[:2] == ['ceilometer-polling', 'ceilometer-agent-notification']
    assert 'gnocchi (gnocchi-api)' in names
    assert 'gnocchi (gnocchi-metricd)' in names
    environment, create, backup_create, show = (
        printed.split(MAKE_A_BACKUP, 1)[1].strip().splitlines()[1:]
    )

    def status(command):
        return _field(_bash(f'{environment}; cinder {command}'), 'status')

    volume = _field(_bash(f'{environment}; {create}'), 'id')
    _until(lambda: status(f'show {volume}'), lambda s: s == 'available')
    # Data to back up, in the volume's file.
    path = os.path.join(state['paths']['volumes'], f'volume-{volume}')
    with open(path, 'r+b') as f:
        for n in range(4):
            os.pwrite(f.fileno(), os.urandom(MIB), n * 64 * MIB)
    backup_create = backup_create.replace('VOLUME_ID', volume)
    backup = _field(_bash(f'{environment}; {backup_create}'), 'id')
    done = _until(
        lambda: status(f'backup-show {backup}'),
        lambda s: s in ('available', 'error'),
    )
    assert done == 'available'
    on_disk = sum(
        os.stat(os.path.join(folder, name)).st_size
        for folder, _, files in os.walk(state['paths']['backup_posix_path'])
        for name in files
        if f'backup_{backup}' in name
    )
    assert on_disk >= 4 * MIB  # random: compression cannot shrink it

    wanted = {
        'stored_bytes': str(on_disk),
        'backup.stored.size': f'{on_disk} at',
        'backup.changed.size': f'{GIB} at',
        'backup.size': '1 at',
        # Its last status in the period, by name, not a mean of codes.
        'backup.status': 'available at',
    }

    def shown():
        output = _run(['bash', '-c', show.replace('BACKUP_ID', backup)], 60)
        lines = output.stdout.splitlines()
        return dict(line.split(None, 1) for line in lines if ' ' in line)

    meters = _until(
        shown,
        lambda found: all(
            found.get(key, '').startswith(value)
            for key, value in wanted.items()
        ),
        timeout=120,
    )
    assert meters['volume_id'] == volume
    assert meters['ended_at'] == 'None'
