"""What a backup is in Gnocchi: the ``volume_backup`` resource type, its
attributes, the mapping that routes every backup meter to it, and the
archive policies of the backup meters.

Stock Ceilometer files ``backup.size`` under the ``volume`` resource type,
with one attribute, and never ends it when the backup is deleted. Here a
backup is a resource of its own with the attributes an operator filters
and bills on, and ``backup.delete.end`` ends it. One definition, read by
the publisher, the pollster and the operator's ``upgrade``.
"""

import copy
import math
import re

from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup import contract as c
from ceilometer_backup.meter import meters
from ceilometer_backup.meter.gnocchi.outbox import RETRY_MAX

RESOURCE_TYPE = 'volume_backup'
# The attribute (and sample metadata key) holding what the backup's create
# stored, carried forward by the backup.stored.size pollster (stored.py).
STORED_ATTRIBUTE = 'stored_bytes'

# Gnocchi attribute types: nullable (required: False) as a backup's
# metadata may lack any of them (a polled sample has no host).
_STRING = {'type': 'string', 'min_length': 0, 'max_length': c.STRING_MAX}
ATTRIBUTES = {
    'display_name': dict(_STRING, required=False),
    'volume_id': {'type': 'uuid', 'required': False},
    'availability_zone': dict(_STRING, required=False),
    'host': dict(_STRING, required=False),
    'service': dict(_STRING, required=False),
    # Cinder's status of the backup, as last sampled: rating rules leave
    # backups in error out.
    'status': dict(_STRING, required=False),
    'is_incremental': {'type': 'bool', 'required': False},
    'parent_id': {'type': 'uuid', 'required': False},
    # What the create stored, from backup.create.end only.
    STORED_ATTRIBUTE: {'type': 'number', 'required': False, 'min': 0},
}

# Stock Ceilometer's own backup meters land here too, so a deployment still
# running the stock pollster feeds the same resources.
STOCK_BACKUP_METERS = ('backup.size', 'volume.backup.size')
METERS = tuple(m.name for m in meters.METERS) + ('volume.backup.size',)
DELETE_EVENT = c.event_type(c.DELETE, c.END)


def _low(name, method):
    """ceilometer-low (5 minutes over 30 days, the mean) keeping
    ``method`` besides."""
    return {
        'name': name,
        'aggregation_methods': ['mean', method],
        'back_window': 0,
        'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}],
    }


# Meters whose mean is not what is read of them have an archive policy of
# their own, which ``upgrade`` creates (upgrade_archive_policies): alarms
# across backups read backup.idle's largest value; backup.status is a code,
# whose mean over a period is no status (a fraction for a backup that
# went from creating to available in it): its last is.
OWN_ARCHIVE_POLICIES = {
    meters.IDLE.name: _low('ceilometer-backup-low-max', 'max'),
    meters.STATUS.name: _low('ceilometer-backup-low-last', 'last'),
}
_ON_OWN_POLICIES = {
    meter: {'archive_policy_name': policy['name']}
    for meter, policy in OWN_ARCHIVE_POLICIES.items()
}

MAPPING = {
    'resource_type': RESOURCE_TYPE,
    'metrics': {name: None for name in METERS} | _ON_OWN_POLICIES,
    'attributes': {
        # Stock's volume.backup.size pollster calls it "name".
        'display_name': 'resource_metadata.(display_name|name)',
        **{
            name: f'resource_metadata.{name}'
            for name in ATTRIBUTES
            if name != 'display_name'
        },
    },
    'event_delete': [DELETE_EVENT],
    'event_attributes': {'id': 'resource_id'},
}


# The archive policy of metrics whose mapping names none, where
# gnocchi_resources.yaml does not say (as Ceilometer's publisher reads it).
DEFAULT_ARCHIVE_POLICY = 'ceilometer-low'
_SECONDS_OF_UNIT = {
    '': 1, 's': 1, 'sec': 1, 'second': 1,
    'm': 60, 'min': 60, 'minute': 60,
    'h': 3600, 'hr': 3600, 'hour': 3600,
    'd': 86400, 'day': 86400, 'w': 604800, 'week': 604800,
}  # fmt: skip


def _seconds(span):
    """Seconds of a granularity or timespan as an archive policy writes
    it: ``5 minutes``, ``1 hour``, ``5min``, ``300``."""
    match = re.fullmatch(
        r'\s*(\d+(?:\.\d+)?)\s*([a-z]*?)s?\s*', str(span).lower()
    )
    if not match or match.group(2) not in _SECONDS_OF_UNIT:
        raise ValueError(f'not a granularity or timespan: {span!r}')
    return float(match.group(1)) * _SECONDS_OF_UNIT[match.group(2)]


def _granularity(definition):
    """Seconds of one archive policy definition's granularity, given or
    as its timespan over its points."""
    if 'granularity' in definition:
        return _seconds(definition['granularity'])
    try:
        return _seconds(definition['timespan']) / int(definition['points'])
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ValueError(f'no granularity in {definition!r}') from exc


def back_window(policy, outage_seconds):
    """The back window, in blocks of ``policy`` (its largest granularity),
    that keeps the measures a notification agent sends ``outage_seconds``
    late from its spool: Gnocchi drops a measure older than the block of
    the newest one it has processed for the metric, less the back window,
    and several agents replay their spools in no order across hosts. It
    covers the outage, the longest wait of a spool's sender between two
    tries, and the block the outage began in."""
    block = max(_granularity(d) for d in policy['definition'])
    return math.ceil((outage_seconds + RETRY_MAX) / block) + 1


# The default policy with a back window is named so (its name, then
# this); those of OWN_ARCHIVE_POLICIES keep theirs.
BACK_WINDOW_SUFFIX = '-back-window'


def _with_back_window(policy, outage_minutes, name):
    blocks = max(
        back_window(policy, outage_minutes * 60), policy.get('back_window', 0)
    )
    return dict(copy.deepcopy(policy), name=name, back_window=blocks)


def archive_policies(stock, outage_minutes=0):
    """The archive policies this package adds for the backup meters:
    OWN_ARCHIVE_POLICIES and, with ``outage_minutes``, the default policy
    of ``stock`` (a gnocchi_resources.yaml) as ``<name>-back-window``,
    that one first, each with the back window of a Gnocchi outage that
    long (a policy's own larger one stays). ValueError when the default is
    not in ``stock``."""
    own = [copy.deepcopy(p) for p in OWN_ARCHIVE_POLICIES.values()]
    if not outage_minutes:
        return own
    default = stock.get('archive_policy_default', DEFAULT_ARCHIVE_POLICY)
    named = {p['name']: p for p in stock.get('archive_policies', [])}
    if default not in named:
        raise ValueError(
            f'the default archive policy {default} is not defined in '
            'gnocchi_resources.yaml: a back window cannot be added to it'
        )
    return [
        _with_back_window(
            named[default], outage_minutes, default + BACK_WINDOW_SUFFIX
        ),
        *(_with_back_window(p, outage_minutes, p['name']) for p in own),
    ]


def gnocchi_resources(stock, outage_minutes=0):
    """Stock mapping, with backups moved onto their own resource type, and
    ``archive_policies`` in place of any of the same name (an earlier
    run's): the backup meters on them."""
    merged = copy.deepcopy(stock)
    policies = merged.setdefault('archive_policies', [])
    added = archive_policies(merged, outage_minutes)
    mapping = copy.deepcopy(MAPPING)
    if outage_minutes:
        kept = {'archive_policy_name': added[0]['name']}
        mapping['metrics'] = {
            name: dict(kept) for name in mapping['metrics']
        } | copy.deepcopy(_ON_OWN_POLICIES)
    ours = {p['name']: p for p in added}
    policies[:] = [ours.pop(p['name'], p) for p in policies] + list(
        ours.values()
    )
    resources = [
        r for r in merged['resources'] if r['resource_type'] != RESOURCE_TYPE
    ]
    for resource in resources:
        metrics = resource.get('metrics')
        if isinstance(metrics, dict):
            for name in STOCK_BACKUP_METERS:
                metrics.pop(name, None)
        elif isinstance(metrics, list):
            resource['metrics'] = [
                m for m in metrics if m not in STOCK_BACKUP_METERS
            ]
    resources.append(mapping)
    merged['resources'] = resources
    return merged


def upgrade_archive_policies(gnocchi, policies):
    """Create ``policies`` in Gnocchi, or set in place the back window of
    those it has: a metric keeps the policy it was created with, so a
    changed outage reaches the backups already metered only so.

    Returns what changed, as sentences; an empty list when nothing did.
    """
    changes = []
    for policy in policies:
        name, wanted = policy['name'], policy['back_window']
        try:
            existing = gnocchi.archive_policy.get(name)
        except gnocchi_exc.NotFound:
            gnocchi.archive_policy.create(policy)
            changes.append(
                f'created archive policy {name} (back window {wanted})'
            )
            continue
        if existing['back_window'] == wanted:
            continue
        change = (
            f'archive policy {name}: back window '
            f'{existing["back_window"]} -> {wanted}'
        )
        try:
            gnocchi.archive_policy.update(
                name,
                {'definition': existing['definition'], 'back_window': wanted},
            )
        except gnocchi_exc.Forbidden:
            # Creating one takes the service role; changing one, admin.
            changes.append(
                f'{change} refused: Gnocchi lets only the admin role change '
                'an archive policy; run upgrade again with credentials '
                'that have it'
            )
            continue
        changes.append(change)
    return changes


def missing_attributes(existing):
    """The attributes of ATTRIBUTES the resource type ``existing`` (as
    Gnocchi gives it) lacks, sorted."""
    return sorted(set(ATTRIBUTES) - set(existing['attributes']))


def upgrade_resource_type(gnocchi):
    """Create the resource type, or add in place the attributes it lacks.

    Returns what changed, as sentences; an empty list when nothing did.
    """
    try:
        existing = gnocchi.resource_type.get(name=RESOURCE_TYPE)
    except (gnocchi_exc.ResourceTypeNotFound, gnocchi_exc.NotFound):
        gnocchi.resource_type.create(
            resource_type={'name': RESOURCE_TYPE, 'attributes': ATTRIBUTES}
        )
        return [f'created resource type {RESOURCE_TYPE}']
    missing = missing_attributes(existing)
    if not missing:
        return []
    gnocchi.resource_type.update(
        RESOURCE_TYPE,
        [
            {
                'op': 'add',
                'path': f'/attributes/{name}',
                'value': ATTRIBUTES[name],
            }
            for name in missing
        ],
    )
    return [f'added {", ".join(missing)} to resource type {RESOURCE_TYPE}']
