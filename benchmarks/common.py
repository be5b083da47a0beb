"""What the benchmarks share: the machine they ran on, and the messages."""

import gc
import os
import platform
import time
import tracemalloc


def describe_machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f'{time.strftime("%Y-%m-%d")}, {cpu}, {os.cpu_count()} cores, '
        f'Python {platform.python_version()}'
    )


# A volume's data in the cost benchmarks: random regions of this size,
# evenly spread, zeros (holes) between them.
REGION = 64 * 1024 * 1024


def regions(size, random_share):
    """Offsets of the random regions making ``random_share`` of
    ``size`` bytes."""
    return range(0, size, int(REGION / random_share))


def best_of(runs, function):
    """The fastest of ``runs`` timings of ``function()``, in seconds."""
    best = float('inf')
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def backup_events(backups, **fields):
    """(event type, payload) of a realistic day of ``backups`` backups:
    create start/end with 10 progress messages, one exists, and one restore
    and one delete start/end in ten backups. ``fields`` go to every
    backup."""
    from ceilometer_backup.emitter.payload import build_payload
    from tests.support import cinder_objects

    events = []
    for n in range(backups):
        backup = cinder_objects.backup(size=1 + n % 100, **fields)
        payload = build_payload(backup)
        events.append(('backup.create.start', payload))
        for step in range(1, 11):
            events.append(
                (
                    'backup.createprogress',
                    dict(
                        payload, backup_percent=step * 10.0, operation='create'
                    ),
                )
            )
        events.append(('backup.create.end', dict(payload, duration=3.5)))
        events.append(('backup.exists', payload))
        if n % 10 == 0:
            for op in ('restore', 'delete'):
                events.append((f'backup.{op}.start', payload))
                events.append(
                    (f'backup.{op}.end', dict(payload, duration=2.0))
                )
    return events


def wait_for_metricd(client, timeout=900):
    """Until Gnocchi has no measure left to process."""
    deadline = time.monotonic() + timeout
    while client.status.get()['storage']['summary']['measures']:
        if time.monotonic() > deadline:
            raise TimeoutError('metricd did not catch up')
        time.sleep(0.2)


def traced(call):
    """(peak bytes during ``call()``, bytes its result keeps)."""
    gc.collect()
    tracemalloc.start()
    result = call()
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak, kept
