"""Benchmark 2: bytes of progress notifications on the bus per backup.

This emitter against Cinder 29's chunked-driver algorithm, computed with
Cinder's own payload layout: ``_usage_from_backup(backup, **object_meta)``
where ``object_meta['list']`` holds one entry per chunk sent so far, as
``_backup_chunk`` builds them. 50 MiB chunks, a notification every 10.
Sizes are the payload's JSON bytes. Upstream's messages grow with the
chunk count, so its total is summed from per-entry sizes (checked against
a full encoding at 1 GiB) rather than by encoding gigabytes.

Also: the emitter's per-chunk cost when no notification is due.
"""

import json
import sys
import time

from cinder.volume import volume_utils

from benchmarks.common import describe_machine
from ceilometer_backup.emitter.payload import build_payload, progress_base
from ceilometer_backup.emitter.progress import ProgressReporter
from testcloud.ground import MIB
from tests.support import cinder_objects

CHUNK = 50 * MIB
EVERY = 10


def _entry(prefix, number):
    return {
        f'{prefix}-{number:05d}': {
            'offset': (number - 1) * CHUNK,
            'length': CHUNK,
            'compression': 'zlib',
            'md5': 'd41d8cd98f00b204e9800998ecf8427e',
        }
    }


def upstream(backup, chunks):
    """(largest, total, count) payload bytes of Cinder's progress messages.

    A message's size is the payload without its list, with this message's
    own ``id`` (next chunk number) and ``backup_percent``, plus the list.
    """
    prefix = f'volume_{backup.volume_id}/20261125/az_az1_backup_{backup.id}'
    volume_bytes = backup.size * 1024**3

    def framing(next_id, percent):
        return len(
            json.dumps(
                volume_utils._usage_from_backup(
                    backup,
                    id=next_id,
                    list=[],
                    prefix=prefix,
                    volume_meta=None,
                    backup_percent=percent,
                )
            )
        )

    listed, total, largest, count = 0, 0, 0, 0
    for number in range(1, chunks + 1):
        # ', ' between entries, none before the first.
        listed += len(json.dumps(_entry(prefix, number))) + (
            2 if number > 1 else 0
        )
        if number % EVERY == 0:  # chunkeddriver's count-based message
            size = framing(number + 1, number * EVERY * 100 / volume_bytes)
        elif number == chunks:  # _send_progress_end
            size = framing(number + 1, 100)
        else:
            continue
        size += listed
        total += size
        largest = max(largest, size)
        count += 1
    if chunks % EVERY == 0:  # the final message after the last count one
        size = framing(chunks + 1, 100) + listed
        total += size
        count += 1
    return largest, total, count, prefix


def ours(backup, chunks):
    """(largest, total) payload bytes of this emitter's progress messages."""
    base = progress_base(build_payload(backup))
    sizes = []

    def report(progress):
        sizes.append(
            len(json.dumps(dict(base, **progress, operation='create')))
        )

    reporter = ProgressReporter(report, chunks * CHUNK, EVERY, 0)
    for _ in range(chunks):
        reporter.advance(CHUNK)
    reporter.stop(completed=True)
    return max(sizes), sum(sizes), len(sizes)


def _check_upstream_arithmetic(backup):
    """The summed sizes equal a real encoding of Cinder's payload."""
    largest, _, _, prefix = upstream(backup, 21)
    meta = {
        'id': 22,
        'list': [_entry(prefix, n) for n in range(1, 22)],
        'prefix': prefix,
        'volume_meta': None,
        'backup_percent': 100,  # _send_progress_end sets an int
    }
    real = len(json.dumps(volume_utils._usage_from_backup(backup, **meta)))
    assert real == largest, (real, largest)


def per_chunk_cost(calls=2_000_000):
    """Seconds per advance() when no notification is due."""
    reporter = ProgressReporter(lambda p: None, 2**62, 10**9, 0)
    advance = reporter.advance
    started = time.perf_counter()
    for _ in range(calls):
        advance(CHUNK)
    return (time.perf_counter() - started) / calls


def main():
    print(f'# Progress traffic ({describe_machine()})')
    backup = cinder_objects.backup()
    _check_upstream_arithmetic(backup)
    print('volume | messages | largest: Cinder / ours | total: Cinder / ours')
    for gib in (1, 100, 1024):
        backup.size = gib
        chunks = gib * 1024 * MIB // CHUNK + (1 if gib * 1024 % 50 else 0)
        up_largest, up_total, count, _ = upstream(backup, chunks)
        our_largest, our_total, our_count = ours(backup, chunks)
        print(
            f'{gib:5d} GiB | {our_count:8d} | {up_largest:>11,} / '
            f'{our_largest:,} B | {up_total:>15,} / {our_total:,} B | '
            f'{up_total / our_total:,.0f}x fewer bytes'
        )
        assert our_largest <= 2048
    cost = per_chunk_cost()
    print(
        f'per-chunk cost when no notification is due: {cost * 1e9:.0f} ns '
        f'(target <= 1000 ns)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
