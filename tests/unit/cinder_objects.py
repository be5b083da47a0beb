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
