"""Cinder's own backup unit tests, with this plugin in Cinder's place.

``python -m tests.cinder_unit`` runs ``cinder.tests.unit.backup`` (they
ship in Cinder's wheel) twice, each in a process of its own and both at
once: stock, and with ``backup_manager`` and ``backup_driver`` set as the
install page says, wrapping whatever driver each test configures. It
fails on a test whose outcome differs from the stock run's unless
``differences.ini`` lists it with its reason, and on a listed test
whose outcome no longer differs. Cinder's tests clean up by deleting
every public attribute of the test case, which breaks pytest: they run
under unittest here, and nothing in this folder is pytest's to collect.
"""

# The outcomes that fail a test; any other (success, skip, expected
# failure) passes it.
FAILED = ('failure', 'error', 'unexpected success')
