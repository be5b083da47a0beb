"""The emitter over a real RabbitMQ, read back by a real listener."""

import logging
import re
import time

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.notification import BackupNotifier
from testcloud import servers
from testcloud.ground import MIB
from tests.support import cinder_objects
from tests.support.checks import assert_cinder_envelope, run_eventlet_backup
from tests.support.config import cinder_conf
from tests.support.recorders import listening

TIB = 1024 * c.GIB

# What a loaded 2-core CI machine may add to a bounded wait (idle, the
# bound is overrun by about 0.1 s); a wait that is not bounded lasts as
# long as the broker is away.
SCHEDULING = 1.5


def _transfer(op, total, chunk):
    for _ in range(total // chunk):
        op.advance(chunk)


def test_backup_lifecycle_arrives_on_the_cinder_exchange(rabbitmq):
    conf = cinder_conf(url=rabbitmq.url, driver='messagingv2')
    notifier = BackupNotifier.from_config(conf, host='node1@posix')
    backup = cinder_objects.backup(size=1)
    ctxt = cinder_objects.request_context()
    with listening(rabbitmq.url) as received:
        with notifier.operation(ctxt, backup, c.CREATE) as op:
            _transfer(op, c.GIB, 64 * MIB)
            backup.status = 'available'
        with notifier.operation(ctxt, backup, c.RESTORE) as op:
            _transfer(op, c.GIB, 64 * MIB)
        with notifier.operation(ctxt, backup, c.DELETE):
            backup.status = 'deleted'
        failing = cinder_objects.backup(size=1)
        try:
            with notifier.operation(ctxt, failing, c.CREATE):
                raise OSError('no space left on backup repository')
        except OSError:
            pass
        received.wait_for('backup.create.error')
    assert received.event_types() == [
        'backup.create.start',
        'backup.createprogress',
        'backup.createprogress',
        'backup.create.end',
        'backup.restore.start',
        'backup.restoreprogress',
        'backup.restoreprogress',
        'backup.restore.end',
        'backup.delete.start',
        'backup.delete.end',
        'backup.create.start',
        'backup.create.error',
    ]
    assert_cinder_envelope(received.messages, 'backup.node1@posix')
    by_type = {m['event_type']: m['payload'] for m in received.messages}
    assert by_type['backup.create.end']['status'] == 'available'
    assert by_type['backup.create.end']['duration'] >= 0
    assert by_type['backup.restoreprogress']['backup_percent'] == 100.0
    assert by_type['backup.create.error']['fail_reason'] == (
        'no space left on backup repository'
    )
    assert by_type['backup.create.error']['backup_id'] == failing.id


# What Cinder's own notifier uses, and no more: the control exchange
# (cinder.conf sets none: oslo.messaging's openstack) and the
# notifications.<priority> queues it declares and binds.
NOTIFICATION_PERMISSIONS = {
    'configure': r'^(openstack|notifications\..*)$',
    'write': r'^(openstack|notifications\..*)$',
    'read': r'^openstack$',
}


def _notify_as(rabbitmq, user, **permissions):
    """A backup's create notified through a transport user with those
    permissions; what a listener got of it."""
    url = rabbitmq.add_user(user, f'{user}-Passw0rd', **permissions)
    conf = cinder_conf(url=url, driver='messagingv2')
    conf.set_override('control_exchange', 'openstack')
    notifier = BackupNotifier.from_config(conf, host='node1@posix')
    backup = cinder_objects.backup(size=1)
    with listening(rabbitmq.url, exchange='openstack') as received:
        with notifier.operation(None, backup, c.CREATE) as op:
            _transfer(op, c.GIB, 64 * MIB)
            backup.status = 'available'
        try:
            received.wait_for('backup.create.end', timeout=15)
        except TimeoutError:
            pass
    return received.event_types()


def test_a_transport_user_limited_to_notifications_is_enough(rabbitmq):
    """doc/source/security.md's permissions for cinder-backup's transport
    user: the wrapper's notifications arrive through it, and not without
    its read permission (binding its queue reads the exchange)."""
    assert _notify_as(
        rabbitmq, 'cinder-notifier', **NOTIFICATION_PERMISSIONS
    ) == [
        'backup.create.start',
        'backup.createprogress',
        'backup.createprogress',
        'backup.create.end',
    ]
    unread = dict(NOTIFICATION_PERMISSIONS, read='^$')
    assert _notify_as(rabbitmq, 'cinder-no-read', **unread) == []


def _one_tib_backup(conf):
    """Seconds a 1 TiB create takes, and its notifier."""
    notifier = BackupNotifier.from_config(conf, host='node1@posix')
    backup = cinder_objects.backup(size=1024)
    started = time.monotonic()
    with notifier.operation(None, backup, c.CREATE) as op:
        _transfer(op, TIB, 50 * MIB)
    return time.monotonic() - started, notifier


def _forget(notifier):
    """What a dead broker's notifier still holds is sent nowhere: its
    worker would retry .start and .end for the rest of the session, each
    try an ERROR with a traceback in whatever test runs then."""
    notifier._sender._send = lambda message: None


def test_dead_broker_adds_at_most_the_flush_bound_to_a_1_tib_backup(caplog):
    """20 972 chunks, ~2 100 progress messages, nothing listening."""
    flush = 1.0
    baseline, _ = _one_tib_backup(
        cinder_conf(driver='test', flush_timeout=flush)
    )
    caplog.clear()
    dead_url = f'rabbit://guest:guest@127.0.0.1:{servers.free_port()}/'
    dead = cinder_conf(url=dead_url, driver='messagingv2', flush_timeout=flush)
    with caplog.at_level(logging.WARNING):
        elapsed, notifier = _one_tib_backup(dead)
    _forget(notifier)
    assert elapsed - baseline <= flush + SCHEDULING, (elapsed, baseline)
    drops = [r.getMessage() for r in caplog.records if 'Dropped' in r.msg]
    assert len(drops) == 1, 'one WARNING per operation, .end kept'
    dropped = int(re.search(r'Dropped (\d+) notifications', drops[0])[1])
    # 2098 progress messages + .start + .end, a queue of 1000: most
    # progress is dropped, and nothing else (a dropped .start or .end
    # would have logged a WARNING of its own).
    assert 2100 - 1000 - 50 <= dropped <= 2098


def test_eventlet_patched_backup_over_rabbitmq(rabbitmq):
    with listening(rabbitmq.url) as received:
        result = run_eventlet_backup(rabbitmq.url, 'messagingv2')
        received.wait_for('backup.create.end')
    types = received.event_types()
    assert types[0] == 'backup.create.start'
    assert types.count('backup.createprogress') >= 3
    assert result['flushed'] is True


def test_eventlet_patched_backup_with_dead_broker_is_not_slowed():
    result = run_eventlet_backup(
        f'rabbit://guest:guest@127.0.0.1:{servers.free_port()}/', 'messagingv2'
    )
    # 16 chunks of 0.1 s, plus at most the 1 s flush bound.
    assert result['elapsed'] < 1.6 + 1.0 + SCHEDULING
