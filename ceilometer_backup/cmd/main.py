"""The ``ceilometer-backup`` command: a subcommand per module, loaded lazily.

A subcommand's module is imported only once its name is on the command
line: ``upgrade``, ``reconcile`` and ``demo`` need Ceilometer (the
``[ceilometer]`` extra), which a Cinder node does not have.
"""

import argparse
import importlib
import sys
import warnings

from ceilometer_backup.cmd import CommandFailed

# Name -> one line of help. Each is ceilometer_backup.cmd.<name>, with
# add_arguments(parser) and run(args) -> exit status.
COMMANDS = {
    'demo': 'Meter a simulated backup end to end and print the samples.',
    'upgrade': 'Create the volume_backup resource type in Gnocchi and write '
    'deploy-ready Ceilometer config files.',
    'reconcile': 'Set ended_at on the Gnocchi resources of backups that '
    'Cinder no longer lists (their deletion was not recorded).',
    'files': 'Print where the files to install (config snippets, mapping '
    'sources, alarm, rating and alerting rules) are.',
}
EXTRA = 'ceilometer'


def _load(name):
    """The subcommand's module, or CommandFailed naming the missing extra."""
    # oslo.messaging imports oslo.service's eventlet backend, which prints
    # a deprecation banner that says nothing about this command.
    warnings.filterwarnings('ignore', message='\nEventlet is deprecated')
    try:
        return importlib.import_module(f'ceilometer_backup.cmd.{name}')
    except ModuleNotFoundError as exc:
        raise CommandFailed(
            f'needs {exc.name}, which is not installed: '
            f"pip install 'ceilometer-backup[{EXTRA}]'"
        ) from exc


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog='ceilometer-backup',
        description='Metering of Cinder volume backups for Ceilometer.',
    )
    commands = parser.add_subparsers(dest='command', required=True)
    parsers = {
        name: commands.add_parser(name, help=help, description=help)
        for name, help in COMMANDS.items()
    }
    # The parser takes no option before the subcommand's name.
    name = next((arg for arg in argv if not arg.startswith('-')), None)
    try:
        if name in COMMANDS:
            module = _load(name)
            module.add_arguments(parsers[name])
        args = parser.parse_args(argv)
        return module.run(args)
    except CommandFailed as exc:
        print(f'ceilometer-backup {name}: {exc}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
