"""``ceilometer-backup demo``: a simulated backup's notifications, no server.

A backup create (with progress), a restore, a delete and a failed create
go through the real emitter and a real oslo.messaging transport, by
default the in-process ``fake://`` one, and a real notification listener
prints every notification that arrives on the ``cinder`` exchange.
"""

import datetime
import threading
import time
import uuid

import oslo_messaging
from oslo_config import cfg

from ceilometer_backup import contract as c
from ceilometer_backup import opts
from ceilometer_backup.emitter import BackupNotifier

CHUNK_BYTES = 64 * 1024 * 1024
DEMO_HOST = 'demo-host@posix'


def add_parser(commands):
    parser = commands.add_parser(
        'demo', help='Show the notifications of a simulated backup.'
    )
    parser.add_argument(
        '--transport-url',
        default='fake://',
        help='oslo.messaging transport to send over (default: in-process).',
    )
    parser.add_argument(
        '--size-gib', type=int, default=2, help='Simulated volume size.'
    )
    parser.add_argument(
        '--objects-per-notification',
        type=int,
        default=4,
        help='Progress notification every this many 64 MiB objects.',
    )
    parser.set_defaults(func=run)


class Printer:
    """Notification endpoint that prints one line per notification."""

    def __init__(self, out):
        self.out = out
        self.received = 0
        self._lock = threading.Lock()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        details = [f'backup={payload.get(c.BACKUP_ID)}']
        for key in (c.STATUS, c.BACKUP_PERCENT, c.DURATION, c.FAIL_REASON):
            if payload.get(key) is not None:
                details.append(f'{key}={payload[key]}')
        with self._lock:
            self.received += 1
            print(
                f'{publisher_id:<20} {event_type:<24} {" ".join(details)}',
                file=self.out,
            )

    def wait_quiet(self, quiet=0.3, limit=10.0):
        """Wait until no notification arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        seen = -1
        while seen != self.received and time.monotonic() < deadline:
            seen = self.received
            time.sleep(quiet)


def _configure(url, objects_per_notification):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project='ceilometer-backup', default_config_files=[])
    conf.set_override(
        'backup_object_number_per_notification',
        objects_per_notification,
        group=opts.NOTIFICATIONS_GROUP,
    )
    oslo_messaging.set_transport_defaults(c.CONTROL_EXCHANGE)
    transport = oslo_messaging.get_notification_transport(conf, url=url)
    conf.set_override('transport_url', url)
    conf.set_override(
        'driver', ['messagingv2'], group='oslo_messaging_notifications'
    )
    return conf, transport, BackupNotifier.from_config(conf, host=DEMO_HOST)


def _simulated_backup(size_gib):
    return {
        'id': str(uuid.uuid4()),
        'project_id': uuid.uuid4().hex,
        'user_id': uuid.uuid4().hex,
        'availability_zone': 'nova',
        'host': DEMO_HOST,
        'display_name': 'nightly',
        'created_at': datetime.datetime.now(datetime.UTC),
        'status': 'creating',
        'volume_id': str(uuid.uuid4()),
        'size': size_gib,
        'service': 'cinder.backup.drivers.posix.PosixBackupDriver',
        'container': 'backups',
    }


def _transfer(op, size_gib):
    for _ in range(size_gib * c.GIB // CHUNK_BYTES):
        op.advance(CHUNK_BYTES)


def simulate(notifier, size_gib):
    """Create, restore and delete one backup, then fail to create another."""
    backup = _simulated_backup(size_gib)
    with notifier.operation(None, backup, c.CREATE) as op:
        _transfer(op, size_gib)
        backup['status'] = 'available'
        backup['object_count'] = size_gib * c.GIB // CHUNK_BYTES
    backup['status'] = 'restoring'
    with notifier.operation(None, backup, c.RESTORE) as op:
        _transfer(op, size_gib)
        backup['status'] = 'available'
    backup['status'] = 'deleting'
    with notifier.operation(None, backup, c.DELETE):
        backup['status'] = 'deleted'
    failing = _simulated_backup(size_gib)
    try:
        with notifier.operation(None, failing, c.CREATE) as op:
            op.advance(CHUNK_BYTES)
            raise OSError('simulated: backup repository is full')
    except OSError:
        pass


def run(args, out=None):
    conf, transport, notifier = _configure(
        args.transport_url, args.objects_per_notification
    )
    printer = Printer(out)
    listener = oslo_messaging.get_notification_listener(
        transport,
        [oslo_messaging.Target(topic='notifications', exchange='cinder')],
        [printer],
        executor='threading',
    )
    # One listener thread, so that notifications print in the order sent.
    conf.set_override('executor_thread_pool_size', 1)
    listener.start()
    try:
        simulate(notifier, args.size_gib)
        printer.wait_quiet()
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
    print(f'{printer.received} notifications received', file=out)
    return 0
