"""python-cinderclient's internals the Cinder API client reads, checked
when the discovery (or ``reconcile``) makes its client
(``meter/cinder.py``).

A listed backup's raw fields are its ``Resource._info``: reading them as
attributes would make the client fetch each backup again (its lazy
loading) for a field the listing left out. Without it, they are read from
the attributes the client set, as its ``repr`` lists them.
"""

from ceilometer_backup.upstream import Symbol

PROJECT = 'python-cinderclient'
INFO = Symbol(
    'Resource',
    '_info',
    "backups' fields are read from the client's attributes (a field "
    'named as one of its own is not read)',
)
SYMBOLS = (INFO,)
