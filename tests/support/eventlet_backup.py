"""Run a backup's notifications in an eventlet-patched process, as
cinder-backup is, and print what happened as JSON (run by test_eventlet).
"""

import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from oslo_messaging.notify import _impl_test  # noqa: E402

from ceilometer_backup.emitter.notification import BackupNotifier  # noqa: E402
from tests.support import cinder_objects  # noqa: E402
from tests.support.config import cinder_conf  # noqa: E402


def main(url, driver):
    conf = cinder_conf(url, driver, progress_every_seconds=1)
    notifier = BackupNotifier.from_config(conf, host='h')
    backup = cinder_objects.backup(size=1)
    started = time.monotonic()
    with notifier.operation(None, backup, 'create') as op:
        for _ in range(16):
            eventlet.sleep(0.1)
            op.advance(64 * 1024 * 1024)
    elapsed = time.monotonic() - started
    print(
        json.dumps(
            {
                'elapsed': elapsed,
                'flushed': notifier.flush(),
                'events': [
                    m['event_type'] for _, m, *_ in _impl_test.NOTIFICATIONS
                ],
                'threads': sorted(t.name for t in threading.enumerate()),
                'green': eventlet.patcher.is_monkey_patched('thread'),
            }
        )
    )


if __name__ == '__main__':
    main(*sys.argv[1:])
