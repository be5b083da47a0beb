"""With DEBUG logging everywhere, no credential reaches a log line."""

import contextlib
import logging
import traceback

import pytest

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from ceilometer_backup.meter.discovery import BackupDiscovery
from testcloud import servers
from tests.support import cinder_objects, config
from tests.support.checks import run_upgrade
from tests.support.config import cinder_conf
from tests.support.openstack_api import (
    PASSWORD,
    TOKEN_PREFIX,
    FakeOpenStack,
    make_backups,
)

BROKER_PASSWORD = 'Br0ker-S3cret-Pa55'


class Everything(logging.Handler):
    """Every record of every logger, formatted, tracebacks included."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += ''.join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)


@contextlib.contextmanager
def debug_logs():
    """Every logger at DEBUG; enter it after the service's own log setup,
    which quiets some libraries."""
    root = logging.getLogger()
    handler = Everything()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = {}
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level > logging.DEBUG:
            quiet[name] = logger.level
            logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)


def _leaks(lines, *secrets):
    return [line for line in lines if any(s in line for s in secrets)]


def test_emitter_logs_no_transport_credentials():
    url = (
        f'rabbit://backup-user:{BROKER_PASSWORD}@127.0.0.1:'
        f'{servers.free_port()}/'
    )
    conf = cinder_conf(url=url, driver='messagingv2', flush_timeout=0.5)
    with debug_logs() as lines:
        notifier = BackupNotifier.from_config(conf, host='node-1')
        with pytest.raises(OSError):
            with notifier.operation(None, cinder_objects.backup(), c.CREATE):
                raise OSError('failed')
        notifier.flush()
    assert any('backup.create' in line for line in lines)
    assert _leaks(lines, BROKER_PASSWORD) == []


def test_pollster_logs_no_password_or_token(tmp_path):
    with FakeOpenStack(make_backups(3)) as api:
        disc = BackupDiscovery(config.polling_conf(api, str(tmp_path)))
        with debug_logs() as lines:
            assert len(disc.discover(None)) == 3
            api.cinder_status = 500
            assert disc.discover(None) == []
    assert any('backups/detail' in line for line in lines)
    assert any('auth/tokens' in line for line in lines)
    assert _leaks(lines, PASSWORD, TOKEN_PREFIX) == []


def test_setup_command_logs_no_password(tmp_path):
    with FakeOpenStack() as api:
        done = run_upgrade(
            tmp_path,
            '[DEFAULT]\ndebug = true\nuse_stderr = true\n'
            'default_log_levels = keystoneauth=DEBUG,urllib3=DEBUG,'
            'gnocchiclient=DEBUG,ceilometer=DEBUG\n' + config.credentials(api),
        )
    output = done.stdout + done.stderr
    assert 'DEBUG' in output and 'auth/tokens' in output, 'debug was on'
    assert PASSWORD not in output
    assert TOKEN_PREFIX not in output
