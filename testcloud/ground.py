"""What the cloud's services share, at the ground: a service takes these
from here, never from a peer.
"""

import os

# The checkout: etc/, tools/ and the service virtualenvs are found here.
ROOT = os.path.dirname(os.path.dirname(__file__))
MIB = 1024 * 1024

# Ceilometer's event pipeline to Aodh's listener, as the docs give it:
# backup events on the topic aodh-listener reads.
EVENT_PIPELINE = """---
sources:
  - name: backup_events
    events: ['backup.*']
    sinks: [to_aodh]
sinks:
  - name: to_aodh
    publishers: ['notifier://?topic=alarm.all']
"""


def psycopg2_url(url):
    """``url`` with psycopg2 named: SQLAlchemy 2.1 defaults to psycopg 3."""
    scheme, rest = url.split('://', 1)
    if scheme in ('postgresql', 'postgres'):
        scheme = 'postgresql+psycopg2'
    return f'{scheme}://{rest}'


def service_credentials(**values):
    """A [service_credentials] section: password auth on the internal
    interface, and ``values`` (a Keystone's ``credentials(user)``)."""
    values = {'auth_type': 'password', 'interface': 'internal', **values}
    return '[service_credentials]\n' + ''.join(
        f'{key} = {value}\n' for key, value in values.items()
    )
