"""Assertions and helpers shared by unit and functional tests."""

import json
import subprocess
import sys

from ceilometer_backup import contract as c


def assert_cinder_envelope(messages, publisher_id):
    """Every message is what Cinder itself would have sent, plus more."""
    assert messages
    for message in messages:
        assert message['priority'] == 'INFO'
        assert message['publisher_id'] == publisher_id
        assert set(c.CINDER_USAGE_KEYS) <= set(message['payload'])
        json.dumps(message['payload'])


def run_eventlet_backup(url, driver):
    """Run tests/support/eventlet_backup.py in a process of its own."""
    done = subprocess.run(
        [
            sys.executable,
            '-W',
            'ignore',
            '-m',
            'tests.support.eventlet_backup',
            url,
            driver,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_upgrade(tmp_path, config):
    """``ceilometer-backup upgrade`` on a config file with ``config``."""
    conf = tmp_path / 'ceilometer.conf'
    conf.write_text(config)
    return subprocess.run(
        [
            sys.executable,
            '-m',
            'ceilometer_backup.cmd.main',
            'upgrade',
            '--config-file',
            str(conf),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def errors_of_this_package(caplog):
    """The ERROR messages this package logged. Not another test's: a
    notifier of an earlier test may still be retrying its stopped broker
    in this process, at ERROR, under oslo.messaging's name."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelname == 'ERROR' and r.name.startswith('ceilometer_backup')
    ]
