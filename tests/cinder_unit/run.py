"""One run of Cinder's backup unit tests in this process.

``python -m tests.cinder_unit.run stock|metered OUTPUT`` writes each
test's outcome (and the traceback of a failure) to OUTPUT as JSON.
``metered`` puts the plugin in Cinder's place first, as the install page
configures it: ``backup_manager`` is ``MeteredBackupManager``,
``backup_driver`` is ``MeteredBackupDriver``, and the driver a test
configures (Cinder's test default, or its own ``backup_driver``) becomes
``[backup_notifications] wrapped_driver``. Tests that construct a driver
class themselves (``drivers/``, ``test_chunkeddriver.py``) run that
driver as it is.
"""

import json
import sys
import unittest

# Patches the process with eventlet, as Cinder's own test runs do.
import cinder.tests.unit.backup
from cinder.tests.unit import test as cinder_test

from tests.cinder_unit import FAILED


def put_plugin_in_place():
    """Every Cinder test case, from its ``setUp`` on, configured with the
    plugin (its options registered as its manager does); each manager a
    test makes hands its drivers a runtime (notifier and all) of its own,
    as Cinder's fake notifier is made afresh for each test."""
    from ceilometer_backup import opts
    from ceilometer_backup.emitter import driver

    opts.register_opts(cinder_test.CONF)

    stock_set_up = cinder_test.TestCase.setUp
    stock_override = cinder_test.TestCase.override_config
    notifications = 'backup_notifications'

    def set_up(self):
        stock_set_up(self)
        configured = cinder_test.CONF.backup_driver
        stock_override(self, 'wrapped_driver', configured, notifications)
        stock_override(self, 'backup_driver', driver.WRAPPER)
        stock_override(self, 'backup_manager', driver.MANAGER)

    def override_config(self, name, override, group=None):
        if name == 'backup_driver' and group is None:
            name, group = 'wrapped_driver', notifications
        stock_override(self, name, override, group)

    cinder_test.TestCase.setUp = set_up
    cinder_test.TestCase.override_config = override_config


class Outcomes(unittest.TestResult):
    """Each test's outcome by id, and what a failure printed."""

    def __init__(self):
        super().__init__()
        self.outcomes = {}

    def _record(self, test, outcome, err=None):
        entry = {'outcome': outcome}
        if err is not None:
            entry['traceback'] = self._exc_info_to_string(err, test)
        # A failure after success (in cleanup) wins.
        if self.outcomes.get(test.id(), {}).get('outcome') not in FAILED:
            self.outcomes[test.id()] = entry

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, 'success')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, 'failure', err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, 'error', err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, 'skip')

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, 'expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, 'unexpected success')


def main(mode, output):
    if mode == 'metered':
        put_plugin_in_place()
    elif mode != 'stock':
        raise SystemExit(f'usage: {sys.argv[0]} stock|metered OUTPUT')
    loader = unittest.TestLoader()
    suite = loader.discover(
        cinder.tests.unit.backup.__path__[0],
        top_level_dir=cinder.__path__[0].rsplit('/', 1)[0],
    )
    result = Outcomes()
    suite.run(result)
    with open(output, 'w') as f:
        json.dump(result.outcomes, f, indent=1, sort_keys=True)


if __name__ == '__main__':
    main(*sys.argv[1:])
