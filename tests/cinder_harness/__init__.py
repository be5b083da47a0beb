"""Tests inside Cinder's own test harness.

Importing cinder.tests.unit monkey-patches the process with eventlet, as
Cinder's test suite expects, so these run in a pytest process of their
own (tools/test.sh runs them separately): collected with the rest, they
would turn every other test green.
"""
