"""The wire contract between the Cinder side and the Ceilometer side.

Both halves import their names from here so that an event type, a payload
key or a meter name cannot drift between the emitter and the consumer.
The payload keys are a superset of Cinder 29's ``_usage_from_backup`` with
the same names and types, so stock Ceilometer definitions keep working on
what this project sends.
"""

# Cinder publishes backup notifications as publisher_id "backup.<host>" on
# its control exchange; Ceilometer's notification agent listens there.
CONTROL_EXCHANGE = 'cinder'
PUBLISHER_SERVICE = 'backup'
PRIORITY = 'INFO'

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

EVENT_TYPES = (
    LIFECYCLE_EVENTS | frozenset(PROGRESS_EVENTS.values()) | {EXISTS_EVENT}
)

# Payload keys Cinder 29 sends (cinder.volume.volume_utils._usage_from_backup).
TENANT_ID = 'tenant_id'
USER_ID = 'user_id'
AVAILABILITY_ZONE = 'availability_zone'
BACKUP_ID = 'backup_id'
HOST = 'host'
DISPLAY_NAME = 'display_name'
CREATED_AT = 'created_at'
STATUS = 'status'
VOLUME_ID = 'volume_id'
SIZE = 'size'
SERVICE_METADATA = 'service_metadata'
SERVICE = 'service'
FAIL_REASON = 'fail_reason'
PARENT_ID = 'parent_id'
NUM_DEPENDENT_BACKUPS = 'num_dependent_backups'
SNAPSHOT_ID = 'snapshot_id'

CINDER_USAGE_KEYS = (
    TENANT_ID,
    USER_ID,
    AVAILABILITY_ZONE,
    BACKUP_ID,
    HOST,
    DISPLAY_NAME,
    CREATED_AT,
    STATUS,
    VOLUME_ID,
    SIZE,
    SERVICE_METADATA,
    SERVICE,
    FAIL_REASON,
    PARENT_ID,
    NUM_DEPENDENT_BACKUPS,
    SNAPSHOT_ID,
)

# Keys metering needs that Cinder leaves out.
IS_INCREMENTAL = 'is_incremental'
OBJECT_COUNT = 'object_count'
CONTAINER = 'container'
DATA_TIMESTAMP = 'data_timestamp'
RESTORE_VOLUME_ID = 'restore_volume_id'

EXTRA_USAGE_KEYS = (
    IS_INCREMENTAL,
    OBJECT_COUNT,
    CONTAINER,
    DATA_TIMESTAMP,
    RESTORE_VOLUME_ID,
)

USAGE_KEYS = CINDER_USAGE_KEYS + EXTRA_USAGE_KEYS

# Progress payloads add these. Cinder's key for the percentage is kept.
BACKUP_PERCENT = 'backup_percent'
BYTES_DONE = 'bytes_done'
BYTES_TOTAL = 'bytes_total'
# Which operation a progress message reports on ("create" or "restore").
OPERATION = 'operation'

# ".end" and ".error" payloads carry how long the operation took, measured
# on the Cinder side so that the Ceilometer side can stay stateless.
DURATION = 'duration'

# Sizes are reported in GiB, as Cinder does for volumes and backups.
GIB = 1024**3


class Meter:
    """A meter both paths (notifications and polling) produce."""

    __slots__ = ('name', 'type', 'unit')

    def __init__(self, name, type, unit):
        self.name = name
        self.type = type
        self.unit = unit


SIZE_METER = Meter('backup.size', 'gauge', 'GiB')
EXISTENCE_METER = Meter('backup', 'gauge', 'backup')
PROGRESS_METER = Meter('backup.progress', 'gauge', '%')
ERROR_METER = Meter('backup.error', 'delta', 'backup')
DURATION_METERS = {
    op: Meter(f'backup.{op}.duration', 'gauge', 's') for op in OPERATIONS
}
METERS = (
    SIZE_METER,
    EXISTENCE_METER,
    PROGRESS_METER,
    ERROR_METER,
    *DURATION_METERS.values(),
)
