"""``ceilometer-backup``: the operator's command (demo, upgrade, reconcile,
files), and ``ceilometer-backup-status`` (``status.py``).

Each subcommand is a module of this package, imported only when it runs,
so that ``ceilometer-backup --help`` works on a Cinder node, where the
base package is installed without Ceilometer.
"""


class CommandFailed(Exception):
    """What the operator is told on one line of stderr, with exit status 1.

    For failures an operator can act on (a server unreachable, credentials
    refused); anything else is a bug and keeps its traceback.
    """
