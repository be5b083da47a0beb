"""``ceilometer-backup files``: where the files an operator installs are.

pbr installs them with the package, under
``<prefix>/share/ceilometer-backup/etc`` (a source checkout keeps them in
``etc/``), so that a deployment from the wheel has every file the install
pages name, found the same way on a Cinder node (no Ceilometer needed).
"""

import os
import sys

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
    'prometheus/backup.rules.test.yml',
    'prometheus/backup.rules.yml',
)
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def etc_dir():
    """The directory holding SHIPPED: a checkout's etc/, else the one pbr
    installed; None when neither has them."""
    for etc in (
        os.path.join(_CHECKOUT, 'etc'),
        os.path.join(sys.prefix, 'share', 'ceilometer-backup', 'etc'),
    ):
        if os.path.exists(os.path.join(etc, SHIPPED[0])):
            return etc
    return None


def shipped_file(relative):
    """The path of a SHIPPED file; FileNotFoundError when not installed."""
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
            f'{_CHECKOUT}/etc and {sys.prefix}/share/ceilometer-backup/etc)'
        ) from exc
    for path in paths:
        print(path, file=out)
    return 0
