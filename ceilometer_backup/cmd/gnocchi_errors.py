"""What an operator is told when Gnocchi cannot be used."""

import sys

from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc


def explain(exc, conf):
    """One line for a failure to use Gnocchi, or None if it is not one."""
    if isinstance(exc, ka_exc.Unauthorized | gnocchi_exc.Unauthorized):
        return (
            f'Gnocchi or Keystone refused the credentials of '
            f'[{conf.gnocchi.auth_section}]: {exc}'
        )
    if isinstance(
        exc,
        ka_exc.ConnectFailure
        | ka_exc.EndpointNotFound
        | gnocchi_exc.ConnectionFailure,
    ):
        return f'cannot reach Gnocchi: {exc}'
    if isinstance(exc, ka_exc.ClientException | gnocchi_exc.ClientException):
        return f'Gnocchi refused the change: {exc}'
    return None


def fail(command, message):
    """Tell the operator on one line of stderr; the exit status."""
    print(f'ceilometer-backup {command}: {message}', file=sys.stderr)
    return 1
