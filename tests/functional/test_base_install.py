"""The base package alone, as on a Cinder node: no Ceilometer, no clients.

A virtualenv of its own gets ``pip install ceilometer-backup`` from this
checkout (pip builds the wheel), without the ``[ceilometer]`` extra.
"""

import filecmp
import os
import subprocess
import venv

import pytest

from testcloud.ground import ROOT


@pytest.fixture(scope='module')
def base_venv(tmp_path_factory):
    path = tmp_path_factory.mktemp('base-venv')
    venv.create(path, with_pip=True)
    subprocess.run(
        [path / 'bin' / 'pip', 'install', '--quiet', ROOT],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return path


def _run(base_venv, *argv):
    return subprocess.run(
        [base_venv / 'bin' / argv[0], *argv[1:]],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nothing_of_the_ceilometer_side_is_installed(base_venv):
    for module in ('ceilometer', 'cinderclient', 'gnocchiclient'):
        done = _run(base_venv, 'python', '-c', f'import {module}')
        assert done.returncode == 1, module
        assert 'ModuleNotFoundError' in done.stderr


def test_help_lists_every_subcommand(base_venv):
    done = _run(base_venv, 'ceilometer-backup', '--help')
    assert done.returncode == 0, done.stderr
    for command in ('demo', 'upgrade', 'reconcile', 'files'):
        assert command in done.stdout


@pytest.mark.parametrize('command', ['demo', 'upgrade', 'reconcile'])
def test_a_subcommand_needing_ceilometer_says_so_in_one_line(
    base_venv, command
):
    done = _run(base_venv, 'ceilometer-backup', command, '--help')
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f'ceilometer-backup {command}: needs ceilometer, which is not '
        "installed: pip install 'ceilometer-backup[ceilometer]'"
    ]


def test_the_cinder_side_imports_without_ceilometer(base_venv):
    done = _run(
        base_venv,
        'python',
        '-c',
        'import ceilometer_backup.emitter.driver, '
        'ceilometer_backup.emitter.notification, ceilometer_backup.opts',
    )
    assert done.returncode == 0, done.stderr


def test_every_file_an_operator_installs_comes_with_the_wheel(base_venv):
    done = _run(base_venv, 'ceilometer-backup', 'files')
    assert done.returncode == 0, done.stderr
    share = os.path.join(base_venv, 'share', 'ceilometer-backup', 'etc')
    listed = done.stdout.splitlines()
    # What git holds, not what a checkout may have lying there.
    in_checkout = [
        os.path.join(ROOT, path)
        for path in subprocess.run(
            ['git', '-C', ROOT, 'ls-files', 'etc'],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        if not path.startswith('etc/oslo-config-generator/')
    ]  # fmt: skip
    assert len(listed) == len(in_checkout)
    for path in in_checkout:
        installed = os.path.join(
            share, os.path.relpath(path, os.path.join(ROOT, 'etc'))
        )
        assert installed in listed, installed
        assert filecmp.cmp(path, installed, shallow=False), installed
    metrics = 'cloudkitty/metrics.yml'
    done = _run(base_venv, 'ceilometer-backup', 'files', metrics)
    assert done.stdout == os.path.join(share, metrics) + '\n'
