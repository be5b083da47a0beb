"""Sample metadata of a backup, the same from notifications and polling.

Both paths feed the same Gnocchi resource, whose attributes come from
this metadata, so they must agree on its keys and on how values are cut.
"""

from ceilometer_backup.contract import STRING_MAX

# Descriptive fields copied into sample metadata. What is not listed
# (chunk lists, volume metadata, driver internals) never is.
METADATA_KEYS = (
    'display_name',
    'volume_id',
    'availability_zone',
    'host',
    'service',
    'status',
    'is_incremental',
    'parent_id',
    'container',
    'fail_reason',
    'snapshot_id',
    'created_at',
    'object_count',
    'num_dependent_backups',
    'restore_volume_id',
    'data_timestamp',
)


def metadata_value(value):
    """A scalar, strings cut to STRING_MAX; anything else is dropped."""
    if isinstance(value, str):
        return value[:STRING_MAX]
    if value is None or isinstance(value, bool | int | float):
        return value
    return None


_SCALAR_TYPES = frozenset({bool, int, float, type(None)})


def backup_metadata(fields):
    """Metadata from a mapping with the payload's key names.

    The same rule as ``metadata_value``, inlined: this runs for every
    notification, and a call per key was a fifth of the endpoint's time.
    """
    metadata = {}
    for key in METADATA_KEYS:
        if key in fields:
            value = fields[key]
            kind = value.__class__
            if kind is str:
                value = value[:STRING_MAX]
            elif kind not in _SCALAR_TYPES:
                value = metadata_value(value)  # subclasses, junk
            metadata[key] = value
    return metadata
