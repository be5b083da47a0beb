"""The wire contract between the Cinder side and the Ceilometer side.

What both halves must agree on, and nothing else: the event types, the
exchange and publisher they travel under, and the set of payload keys.
Payload keys are written in the code as the literals Cinder writes
(``'size'``, ``'tenant_id'``), so grepping for one finds every use. The
payload is a superset of Cinder 29's ``_usage_from_backup``, same names
and types, so stock Ceilometer definitions keep working on what this
project sends. Meters are the Ceilometer side's alone: see
``ceilometer_backup.meter.meters``.
"""

# Cinder publishes backup notifications as publisher_id "backup.<host>" on
# its control_exchange (oslo.messaging's "openstack" where cinder.conf sets
# none); the wrapper sends on the same. Ceilometer's notification agent
# listens on both (notification_control_exchanges). The demo and the tests
# run the Cinder side with this one.
CONTROL_EXCHANGE = 'cinder'
PUBLISHER_SERVICE = 'backup'

# Operations and the phases of each.
CREATE = 'create'
DELETE = 'delete'
RESTORE = 'restore'
OPERATIONS = (CREATE, DELETE, RESTORE)

START = 'start'
END = 'end'
ERROR = 'error'
PHASES = (START, END, ERROR)


def event_type(operation, phase):
    """Event type of a lifecycle notification, e.g. ``backup.create.end``."""
    return f'backup.{operation}.{phase}'


LIFECYCLE_EVENTS = frozenset(
    event_type(op, phase) for op in OPERATIONS for phase in PHASES
)

# Only operations that move data report progress. Cinder names the create
# one "createprogress" (no dot), and this project follows it for restore.
PROGRESS_EVENTS = {
    CREATE: 'backup.createprogress',
    RESTORE: 'backup.restoreprogress',
}
# Sent periodically by cinder-volume-usage-audit, one per existing backup.
EXISTS_EVENT = 'backup.exists'
# Sent by Cinder's backup manager once an admin has reset a backup's status
# (``cinder backup-reset-state``), with the status now recorded.
RESET_STATUS_EVENT = 'backup.reset_status.end'

EVENT_TYPES = (
    LIFECYCLE_EVENTS
    | frozenset(PROGRESS_EVENTS.values())
    | {
        EXISTS_EVENT,
        RESET_STATUS_EVENT,
    }
)

# The keys of Cinder 29's cinder.volume.volume_utils._usage_from_backup.
CINDER_USAGE_KEYS = (
    'tenant_id',
    'user_id',
    'availability_zone',
    'backup_id',
    'host',
    'display_name',
    'created_at',
    'status',
    'volume_id',
    'size',
    'service_metadata',
    'service',
    'fail_reason',
    'parent_id',
    'num_dependent_backups',
    'snapshot_id',
)
# Keys metering needs that Cinder leaves out.
EXTRA_USAGE_KEYS = (
    'is_incremental',
    'object_count',
    'container',
    'data_timestamp',
    'restore_volume_id',
)
USAGE_KEYS = CINDER_USAGE_KEYS + EXTRA_USAGE_KEYS

# Progress payloads add these (Cinder's key for the percentage is kept);
# "operation" says which operation reports, "create" or "restore";
# "idle_seconds", only in the reports of an operation that has stopped
# moving data, how long it has not moved (then 0 in the first report after
# it moves again), so that a stalled backup can be alarmed on without the
# Ceilometer side keeping state, and a moving one costs no measure.
PROGRESS_KEYS = (
    'backup_percent',
    'bytes_done',
    'bytes_total',
    'operation',
    'idle_seconds',
)
# ".end" payloads (Cinder's, completed by MeteredBackupManager, or the
# wrapper's) and the wrapper's ".error" add "duration", how long the driver
# took, measured on the Cinder side so that the Ceilometer side can stay
# stateless. A create's ".end" adds what the backup put in the backup
# store, where the driver lets it be counted: "stored_bytes" (after
# compression, metadata included) and "changed_bytes" (volume bytes
# carried). Neither is a field of Cinder's backup: no tenant can edit it.
END_KEYS = ('duration', 'stored_bytes', 'changed_bytes')

# Sizes are reported in GiB, as Cinder does for volumes and backups.
GIB = 1024**3
# Cinder's string columns (names, hosts, fail_reason) hold 255 characters;
# so do the Gnocchi attributes and sample metadata made from them.
STRING_MAX = 255
