"""Every configuration the tests and benchmarks build, in one place.

- ``cinder_conf``: the Cinder side's, notifications to a transport URL
  (by default oslo.messaging's in-memory ``test`` driver);
- ``ceilometer_conf``: Ceilometer's, from config files, with the pipeline
  publishing to ``test://``;
- ``credentials`` and ``polling_conf``: Ceilometer's, pointing the
  pollster at a loopback Keystone and Cinder API.
"""

import functools
import logging
import os
import tempfile

from ceilometer import service

from ceilometer_backup.demo.agent import pipeline_yaml
from ceilometer_backup.emitter.notification import standalone_conf
from testcloud.ground import service_credentials
from tests.support.openstack_api import PASSWORD


def cinder_conf(url='fake://', driver='test', **notification_opts):
    return standalone_conf(url, driver, **notification_opts)


def prepare_service(config_files):
    """Ceilometer's prepare_service, keeping the test run's log handlers.

    oslo.log's setup removes every handler of the root logger, pytest's
    log capture among them.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    conf = service.prepare_service([], config_files)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    return conf


@functools.cache
def _test_pipeline():
    path = os.path.join(tempfile.mkdtemp(prefix='pipeline-'), 'pipeline.yaml')
    with open(path, 'w') as f:
        f.write(pipeline_yaml(['test://']))
    return path


def ceilometer_conf(meter_dirs=None, config_files=()):
    """Every sample to ``test://``; ``meter_dirs`` for the declarative
    endpoint's definitions."""
    conf = prepare_service(list(config_files))
    conf.set_override('pipeline_cfg_file', _test_pipeline())
    if meter_dirs is not None:
        conf.set_override('meter_definitions_dirs', meter_dirs, group='meter')
    return conf


def credentials(api, **extra):
    """[service_credentials] lines for the loopback OpenStack ``api``."""
    values = {
        'auth_url': f'{api.url}/identity/v3',
        'username': 'ceilometer',
        'password': PASSWORD,
        'project_name': 'service',
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'region_name': 'RegionOne',
        **extra,
    }
    return service_credentials(**values)


def polling_conf(api, workdir, **extra):
    path = os.path.join(workdir, 'ceilometer-polling-test.conf')
    with open(path, 'w') as f:
        f.write(credentials(api, **extra))
    return prepare_service([path])
