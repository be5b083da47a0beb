"""What a backup is in Gnocchi: the ``volume_backup`` resource type, its
attributes, the mapping that routes every backup meter to it, and the
archive policy of ``backup.idle``.

Stock Ceilometer files ``backup.size`` under the ``volume`` resource type,
with one attribute, and never ends it when the backup is deleted. Here a
backup is a resource of its own with the attributes an operator filters
and bills on, and ``backup.delete.end`` ends it. One definition, read by
the publisher, the pollster and the operator's ``upgrade``.
"""

import copy

from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup import contract as c
from ceilometer_backup.meter import meters

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

# backup.idle is alarmed on across backups, by its largest value: its
# archive policy keeps the max of each period besides ceilometer-low's
# mean. The Gnocchi publisher creates it from gnocchi_resources.yaml.
IDLE_ARCHIVE_POLICY = {
    'name': 'ceilometer-backup-low-max',
    'aggregation_methods': ['mean', 'max'],
    'back_window': 0,
    'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}],
}

MAPPING = {
    'resource_type': RESOURCE_TYPE,
    'metrics': {name: None for name in METERS}
    | {meters.IDLE.name: {'archive_policy_name': IDLE_ARCHIVE_POLICY['name']}},
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


def gnocchi_resources(stock):
    """Stock mapping, with backups moved onto their own resource type, and
    the archive policy of backup.idle."""
    merged = copy.deepcopy(stock)
    policies = merged.setdefault('archive_policies', [])
    if IDLE_ARCHIVE_POLICY['name'] not in {p['name'] for p in policies}:
        policies.append(copy.deepcopy(IDLE_ARCHIVE_POLICY))
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
    resources.append(copy.deepcopy(MAPPING))
    merged['resources'] = resources
    return merged


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
    missing = sorted(set(ATTRIBUTES) - set(existing['attributes']))
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
