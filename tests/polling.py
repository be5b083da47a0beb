"""Ceilometer configuration pointing the pollster at a FakeOpenStack."""

import os

from tests.ceilometer_agent import prepare_service
from tests.fixtures.openstack_api import PASSWORD


def credentials(api, **extra):
    """[service_credentials] lines for ``api``."""
    values = {
        'auth_type': 'password',
        'auth_url': f'{api.url}/identity/v3',
        'username': 'ceilometer',
        'password': PASSWORD,
        'project_name': 'service',
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'interface': 'internal',
        'region_name': 'RegionOne',
    }
    values.update(extra)
    return '[service_credentials]\n' + ''.join(
        f'{key} = {value}\n' for key, value in values.items()
    )


def make_conf(api, workdir, **extra):
    path = os.path.join(workdir, 'ceilometer-polling-test.conf')
    with open(path, 'w') as f:
        f.write(credentials(api, **extra))
    return prepare_service([path])
