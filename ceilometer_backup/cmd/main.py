"""The ``ceilometer-backup`` command."""

import argparse
import sys
import warnings

# oslo.messaging imports oslo.service's eventlet backend, which prints a
# deprecation banner that says nothing about this command.
warnings.filterwarnings('ignore', message='\nEventlet is deprecated')

from ceilometer_backup.cmd import demo, reconcile, upgrade  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='ceilometer-backup',
        description='Metering of Cinder volume backups for Ceilometer.',
    )
    commands = parser.add_subparsers(dest='command', required=True)
    demo.add_parser(commands)
    upgrade.add_parser(commands)
    reconcile.add_parser(commands)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
