"""Real Cinder 29 ``Backup`` objects and request contexts for the tests."""

import datetime
import uuid

from cinder import context, objects

objects.register_all()


def request_context():
    return context.RequestContext(
        'user-1', 'project-1', auth_token='SECRET-TOKEN', is_admin=True
    )


def backup(**fields):
    values = dict(
        id=str(uuid.uuid4()),
        user_id='user-1',
        project_id='project-1',
        volume_id=str(uuid.uuid4()),
        host='backup-host@posix',
        availability_zone='az1',
        container='backups',
        parent_id=None,
        status='creating',
        fail_reason=None,
        size=10,
        display_name='nightly',
        service_metadata='volume_x/prefix',
        service='cinder.backup.drivers.posix.PosixBackupDriver',
        object_count=0,
        num_dependent_backups=0,
        snapshot_id=None,
        data_timestamp=datetime.datetime(2026, 1, 2, 3, 4, 5),
        created_at=datetime.datetime(2026, 1, 2, 3, 4, 5),
        restore_volume_id=None,
    )
    values.update(fields)
    return objects.Backup(context=request_context(), **values)


def stock_progress_payload(backup, chunks_done, chunk_bytes=50 * 1024**2):
    """A backup.createprogress payload exactly as Cinder 29 builds it.

    cinder.backup.chunkeddriver keeps ``object_meta`` (next chunk ``id``,
    the cumulative chunk ``list``, ``prefix``, ``volume_meta``) and sends
    ``_usage_from_backup(backup, **object_meta)`` with its block-count
    based ``backup_percent``.
    """
    from cinder.volume import volume_utils

    prefix = f'volume_{backup.volume_id}/20261125/az_az1_backup_{backup.id}'
    object_meta = {
        'id': chunks_done + 1,
        'list': [
            {
                f'{prefix}-{n:05d}': {
                    'offset': (n - 1) * chunk_bytes,
                    'length': chunk_bytes,
                    'compression': 'zlib',
                    'md5': 'd41d8cd98f00b204e9800998ecf8427e',
                }
            }
            for n in range(1, chunks_done + 1)
        ],
        'prefix': prefix,
        'volume_meta': None,
    }
    volume_bytes = backup.size * 1024**3
    object_meta['backup_percent'] = chunks_done * 10 * 100 / volume_bytes
    return volume_utils._usage_from_backup(backup, **object_meta)
