"""Cinder backup -> notification payload.

The payload must be what Cinder 29's ``_usage_from_backup`` produces (same
keys, same types) so that stock Ceilometer still understands it, plus the
keys metering needs. It is built from whatever the caller holds: a Cinder
``Backup`` versioned object, any object with the same attribute names, or a
dict. Reading an attribute must never raise into a backup, so a field that
is missing or cannot be loaded becomes ``None``.
"""

import datetime
import json

from ceilometer_backup import contract as c

# payload key -> attribute of cinder.objects.Backup, where they differ.
_ATTRIBUTE_OF = {'tenant_id': 'project_id', 'backup_id': 'id'}
_TIMESTAMPS = frozenset({'created_at', 'data_timestamp'})
_INTEGERS = frozenset({'size', 'num_dependent_backups', 'object_count'})


def read_field(backup, name):
    """One field of the backup, or None when it is absent or unloadable.

    Unset fields of a Cinder versioned object raise on access (they try to
    lazy-load from the database), which is why this catches broadly.
    """
    try:
        if isinstance(backup, dict):
            return backup.get(name)
        return getattr(backup, name, None)
    except Exception:
        return None


def _timestamp(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return None if value is None else str(value)


def _integer(value):
    """Cinder's IntegerField values pass through; anything else is None.

    A non-integer size would be read as a size by every consumer, so it is
    better dropped than guessed.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def json_safe(value):
    """The value in a form every oslo.messaging driver can serialise."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def build_payload(backup, **extra):
    """The usage payload of ``backup``, updated with ``extra``.

    Like Cinder's ``_usage_from_backup(backup, **kw)``, ``extra`` overrides
    the fields read from the backup.
    """
    payload = {}
    for key in c.USAGE_KEYS:
        value = read_field(backup, _ATTRIBUTE_OF.get(key, key))
        if key in _TIMESTAMPS:
            value = _timestamp(value)
        elif key in _INTEGERS:
            value = _integer(value)
        else:
            value = json_safe(value)
        payload[key] = value
    # Cinder's Backup derives is_incremental from parent_id; a dict may not.
    incremental = payload['is_incremental']
    if incremental is None:
        incremental = payload['parent_id']
    payload['is_incremental'] = bool(incremental)
    for key, value in extra.items():
        payload[key] = json_safe(value)
    return payload


# Every string of a progress payload fits in this many bytes of JSON, so a
# progress message stays under 2 KiB whatever the backup's fields hold.
PROGRESS_STRING_MAX = 64
# Nothing a progress report says: the failure is not known yet, and the
# driver's metadata is in the lifecycle messages.
_NOT_IN_PROGRESS = ('fail_reason', 'service_metadata')


def _json_capped(text, limit):
    """``text`` cut so that its JSON encoding (escapes too) fits ``limit``."""
    excess = len(json.dumps(text)) - 2 - limit
    while excess > 0:
        # No character encodes to more than 12 bytes ("\\ud83d\\ude00").
        text = text[: len(text) - max(1, excess // 12)]
        excess = len(json.dumps(text)) - 2 - limit
    return text


def progress_base(payload):
    """What every progress message of an operation repeats, bounded."""
    base = {}
    for key, value in payload.items():
        if key in _NOT_IN_PROGRESS:
            value = None
        elif isinstance(value, str):
            value = _json_capped(value, PROGRESS_STRING_MAX)
        elif isinstance(value, dict | list):
            value = None
        base[key] = value
    return base
