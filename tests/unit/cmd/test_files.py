"""What the wheel ships for operators: every file of etc/ they install."""

import configparser
import os
import subprocess

from ceilometer_backup.cmd import files, main
from testcloud.ground import ROOT

# Read by oslo-config-generator in a checkout, not installed.
DEVELOPMENT = {'oslo-config-generator/ceilometer-backup.conf'}
SHARE = 'share/ceilometer-backup/etc'


def _data_files():
    """{source: target directory} of setup.cfg's data_files, as pbr
    reads them (a target, then its sources on that line or below)."""
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, 'setup.cfg'))
    found, target = {}, None
    for line in setup['files']['data_files'].strip().splitlines():
        if '=' in line:
            target, _, line = (part.strip() for part in line.partition('='))
        for source in line.split():
            found[source] = target
    return found


def test_every_file_of_etc_is_installed_where_files_finds_it():
    listed = subprocess.run(
        ['git', '-C', ROOT, 'ls-files', 'etc'],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    in_checkout = {path.removeprefix('etc/') for path in listed}
    assert set(files.SHIPPED) == in_checkout - DEVELOPMENT
    assert _data_files() == {
        f'etc/{name}': os.path.join(SHARE, os.path.dirname(name)).rstrip('/')
        for name in files.SHIPPED
    }


def test_files_prints_each_path_or_the_one_asked(capsys):
    assert main.main(['files']) == 0
    assert capsys.readouterr().out.splitlines() == [
        os.path.join(ROOT, 'etc', name) for name in files.SHIPPED
    ]
    assert main.main(['files', 'cloudkitty/metrics.yml']) == 0
    assert capsys.readouterr().out == f'{ROOT}/etc/cloudkitty/metrics.yml\n'
