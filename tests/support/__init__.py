"""Everything the tests and the benchmarks share.

Servers they start as processes of their own (RabbitMQ, PostgreSQL,
Gnocchi, Ceilometer's agents, a loopback Keystone and Cinder API), real
Cinder objects, recorders of what was sent, one Gnocchi client fake and
the configuration they build.
"""

import os

# The checkout: etc/, tools/ and the service virtualenvs are found here.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
MIB = 1024 * 1024
