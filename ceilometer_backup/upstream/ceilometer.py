"""Ceilometer's internals this package relies on.

``SYMBOLS``: ``GnocchiPublisher``'s, checked when the agent loads
``backup-gnocchi://`` (``meter/gnocchi/publisher.py``): its methods (some
overridden there), and what its ``__init__`` sets. Without one, what needs
it is off, and the batch goes upstream's way.

``POLLED``: what the polling manager calls on each polled sample,
overridden by ``meter/pollster.py``, checked when the central agent loads
the ``cinder_backups`` discovery.
"""

from ceilometer_backup.upstream import Symbol

PROJECT = 'Ceilometer'
PUBLISHER = 'GnocchiPublisher'

_WHOLE = 'new resources are created as upstream creates them'
_ENDS = (
    'deleted backups are not ended by the publisher (run ceilometer-backup '
    'reconcile)'
)
SYMBOLS = tuple(
    Symbol(PUBLISHER, name, feature)
    for name, feature in {
        'batch_measures': 'batches Gnocchi cannot take are dropped, not kept',
        '_if_not_cached': 'attributes of a batch Gnocchi could not take are '
        'updated anyway',
        '_create_resource': _WHOLE,
        '_hash_resource': _WHOLE,
        'cache': _WHOLE,
        'metric_map': _ENDS,
        '_gnocchi': _ENDS,
    }.items()
)

POLLED = (
    Symbol(
        'Sample',
        'set_timestamp',
        'polled backups are stamped when sampled, after the listing: a '
        'backup deleted in between may have its ended Gnocchi resource '
        'reopened (run ceilometer-backup reconcile)',
    ),
)
