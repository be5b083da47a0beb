"""Cinder's chunked drivers (POSIX, NFS, Swift, S3, GCS, GlusterFS).

They all store every object of a backup, data, metadata and sha256 file,
through ``get_object_writer(container, object_name, extra_metadata)``, and
hand each extent they back up, before compression, to ``_backup_chunk``:
counting there gives ``stored_bytes`` (the data objects after compression
plus the metadata and sha256 objects) and ``changed_bytes`` (every byte of
a full backup, the changed extents of an incremental one).

Their own progress notifications are turned off while the wrapper meters:
a block-count percentage that reads ~0 until the last one, the whole
chunk list in every message, and the wrapper's own ``service`` name. The
wrapper's progress replaces them.
"""

from ceilometer_backup.upstream import cinder

DRIVER = cinder.CHUNKED_DRIVER
# Its methods the counting replaces, and what goes without them.
PRIVATE = cinder.of(DRIVER)


def _silent(*args, **kwargs):
    """A stock progress notification, not sent."""


def hooks(driver, counts, op):
    """For any driver with the chunked drivers' two methods: they are
    counted alike."""
    methods = {
        name: _silent
        for name in ('_send_progress_notification', '_send_progress_end')
        if callable(getattr(driver, name, None))
    }
    writer = getattr(driver, 'get_object_writer', None)
    backup_chunk = getattr(driver, '_backup_chunk', None)
    if callable(writer) and callable(backup_chunk):
        counts.add(0, 0)

        def get_object_writer(*args, **kwargs):
            return counts.writer(writer(*args, **kwargs))

        def _backup_chunk(backup, container, data, *args, **kwargs):
            counts.changed_bytes += len(data)
            return backup_chunk(backup, container, data, *args, **kwargs)

        methods['get_object_writer'] = get_object_writer
        methods['_backup_chunk'] = _backup_chunk
    return methods
