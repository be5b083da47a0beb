"""``ceilometer-backup files``: where the files an operator installs are.

pbr installs them with the package, under
``<prefix>/share/ceilometer-backup/etc`` (a source checkout keeps them in
``etc/``), so that a deployment from the wheel has every file the install
pages name, found the same way on a Cinder node (no Ceilometer needed).
"""

import os
import site
import sys
import sysconfig

from ceilometer_backup.cmd import CommandFailed

# Relative to the etc directory; setup.cfg's data_files installs each.
SHIPPED = (
    'ceilometer-backup.conf.sample',
    'aodh/backup-stalled-alarm.json',
    'ceilometer/meters.d/backup.yaml',
    'ceilometer/polling.yaml',
    'cinder/cinder.conf.snippet',
    'cloudkitty/README.rst',
    'cloudkitty/hashmap.yml',
    'cloudkitty/metrics.yml',
    'grafana/ceilometer-backup-dashboard.json',
    'prometheus/backup.rules.test.yml',
    'prometheus/backup.rules.yml',
)
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _candidates():
    """A checkout's etc/ (an editable install runs from it), then where
    pip puts data files: the environment's prefix, the scheme's data path
    (``/usr/local`` for Debian's system pip), the user base (``--user``)."""
    yield os.path.join(_CHECKOUT, 'etc')
    for prefix in (sys.prefix, sysconfig.get_path('data'), site.getuserbase()):
        if prefix:
            yield os.path.join(prefix, 'share', 'ceilometer-backup', 'etc')


def etc_dir():
    """The directory holding SHIPPED; None when none has them."""
    for etc in _candidates():
        if os.path.exists(os.path.join(etc, SHIPPED[0])):
            return etc
    return None


def shipped_file(relative):
    """The path of a SHIPPED file, for the commands and pages that name it
    relative to etc/; FileNotFoundError when not installed."""
    etc = etc_dir()
    if etc is None:
        raise FileNotFoundError(os.path.join('etc', relative))
    return os.path.join(etc, relative)


def add_arguments(parser):
    parser.add_argument(
        'name',
        nargs='?',
        choices=SHIPPED,
        metavar='FILE',
        help='Print the path of this one file (e.g. cloudkitty/metrics.yml) '
        'rather than of every one.',
    )


def run(args, out=None):
    out = out or sys.stdout
    names = [args.name] if args.name else SHIPPED
    try:
        paths = [shipped_file(name) for name in names]
    except FileNotFoundError as exc:
        raise CommandFailed(
            f'{exc} is not installed with this package (looked in '
            f'{", ".join(dict.fromkeys(_candidates()))})'
        ) from exc
    for path in paths:
        print(path, file=out)
    return 0
