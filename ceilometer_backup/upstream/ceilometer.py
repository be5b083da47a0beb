"""Ceilometer's ``GnocchiPublisher`` internals ``backup-gnocchi://``
relies on, checked when the agent loads it (``meter/gnocchi/publisher.py``).

Its methods (some overridden there), and what its ``__init__`` sets.
Without one, what needs it is off, and the batch goes upstream's way.
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
