"""Every configuration option of ceilometer-backup, in one place.

``list_opts`` is the ``oslo.config.opts`` entry point, so
``oslo-config-generator --namespace ceilometer_backup`` documents them all.
The transport, driver, topics and retry policy of notifications are not
here: they come from the standard ``[oslo_messaging_notifications]`` group
that Cinder already configures.
"""

from oslo_config import cfg

NOTIFICATIONS_GROUP = 'backup_notifications'
POLLING_GROUP = 'backup_polling'
PUBLISHER_GROUP = 'backup_gnocchi'

notification_opts = [
    cfg.StrOpt(
        'wrapped_driver',
        deprecated_name='backup_driver',
        help="The backup driver that does the work when Cinder's "
        '[DEFAULT] backup_driver is ceilometer_backup.emitter.driver.'
        'MeteredBackupDriver, e.g. cinder.backup.drivers.posix.'
        'PosixBackupDriver or cinder.backup.drivers.ceph.CephBackupDriver. '
        "Backups keep this driver's name as their service. Required: "
        'cinder-backup does not start without it, nor with a class it '
        'cannot load (one ERROR line says which).',
    ),
    cfg.BoolOpt(
        'send_lifecycle_notifications',
        default=False,
        help='Also send backup.{create,restore,delete}.{start,end} from the '
        "driver wrapper. Cinder's backup manager already sends them: turn "
        'this on only for a manager that does not. Progress and .error '
        'notifications are always sent.',
    ),
    cfg.IntOpt(
        'progress_every_objects',
        default=10,
        min=0,
        deprecated_name='backup_object_number_per_notification',
        help='Send a backup or restore progress notification every time '
        'this many objects (chunks) have been transferred. 0 disables '
        'object-count based progress notifications. Not to be confused '
        "with Cinder's [DEFAULT] backup_object_number_per_notification, "
        "which paces the stock drivers' own progress notifications.",
    ),
    cfg.IntOpt(
        'progress_every_seconds',
        default=120,
        min=0,
        deprecated_name='backup_timer_interval',
        help='Also send a progress notification every this many seconds '
        'while a backup or restore runs, so that slow transfers still '
        "report. 0 disables the timer. Not to be confused with Cinder's "
        '[DEFAULT] backup_timer_interval.',
    ),
    cfg.IntOpt(
        'max_queued_notifications',
        default=1000,
        min=1,
        help='Notifications are handed to a background sender so that a '
        'slow or unreachable message broker never delays a backup. This '
        'bounds its queue. When the queue is full, progress notifications '
        'are dropped first; lifecycle and error notifications are kept up '
        'to this bound.',
    ),
    cfg.FloatOpt(
        'flush_timeout',
        default=1.0,
        min=0,
        help='At the end of a backup, restore or delete, wait at most this '
        'many seconds for its queued notifications to reach the broker. '
        'Anything still queued is sent later by the background sender.',
    ),
]


polling_opts = [
    cfg.IntOpt(
        'page_size',
        default=1000,
        min=1,
        help='Backups asked of the Cinder API per request when the central '
        'agent lists them. Cinder caps a page at its osapi_max_limit '
        '(1000 by default); larger values only cost memory.',
    ),
]


publisher_opts = [
    cfg.StrOpt(
        'spool_dir',
        default='/var/lib/ceilometer/backup-gnocchi',
        help='Where the backup-gnocchi:// publisher of '
        'ceilometer-agent-notification keeps the backup samples Gnocchi '
        'cannot take for now (unreachable, timeout, 5xx, 429), one file a '
        'batch, until it sends them in order once Gnocchi answers. The '
        "agent's user must be able to write it; it survives agent "
        'restarts and is shared by the [notification] workers of one '
        'host. Created at start if missing.',
    ),
    cfg.IntOpt(
        'spool_max_mb',
        default=1024,
        min=1,
        help='The most the spool may hold, in MiB. A batch that would not '
        'fit is dropped with one ERROR line giving its sample count. A '
        'backup sample takes about 1 KiB.',
    ),
    cfg.IntOpt(
        'outage_minutes',
        default=60,
        min=0,
        help='The Gnocchi outage, in minutes, after which every backup '
        'measure kept in the spools of several notification agents is '
        'still aggregated. Gnocchi drops a measure older than the newest '
        'block it has processed for its metric, less the archive '
        "policy's back window, and each agent replays its spool on its own "
        'schedule. Read by "ceilometer-backup upgrade", which maps the '
        'backup meters to the default archive policy, as '
        '<policy>-back-window, and backup.idle and backup.status to their '
        'own, each with a '
        'back window this long (plus the minute a spool may wait between '
        'two tries), and sets it in Gnocchi (on the metrics already made '
        'on them too) when this changes. Metrics made on another policy '
        'before keep it. 0: the backup meters on the default policy as it '
        'is (enough with one notification agent).',
    ),
]


def register_opts(conf):
    conf.register_opts(notification_opts, group=NOTIFICATIONS_GROUP)


def register_polling_opts(conf):
    conf.register_opts(polling_opts, group=POLLING_GROUP)


def register_publisher_opts(conf):
    conf.register_opts(publisher_opts, group=PUBLISHER_GROUP)


def list_opts():
    return [
        (NOTIFICATIONS_GROUP, notification_opts),
        (POLLING_GROUP, polling_opts),
        (PUBLISHER_GROUP, publisher_opts),
    ]
