"""Hooks into Cinder's chunked drivers, on the instance the wrapper holds.

Cinder builds a driver per operation, so replacing a method on that
instance, for the length of the call, touches nothing else.

What one backup puts in the backup store, counted as the driver writes.

Cinder bills an incremental backup at the whole volume's size (its manager
sets ``backup.size = volume['size']``). Only the driver knows what a backup
really holds, and Cinder's chunked drivers (POSIX, NFS, Swift, S3, GCS,
GlusterFS) all store every object of a backup, data, metadata and sha256
file, through ``get_object_writer(container, object_name,
extra_metadata)``, and hand each extent they back up, before compression,
to ``_backup_chunk``. Counting there, on the driver instance the wrapper
holds (Cinder builds one per operation), gives:

- ``stored_bytes``: every byte written to the store for this backup, the
  data objects after compression plus its metadata and sha256 objects;
- ``changed_bytes``: the volume bytes the backup carries, every byte for a
  full backup, the changed extents for an incremental one.

A driver without those methods (Ceph RBD, most third-party drivers) gets
neither: absent, never guessed. Nothing written changes, nor how.

The chunked drivers' own progress notifications are turned off while the
wrapper meters: a block-count percentage that reads ~0 until the last one,
the whole chunk list in every message, and the wrapper's own ``service``
name. The wrapper's progress replaces them.
"""

import contextlib


class _CountingWriter:
    """The store's writer for one object, counting what is written."""

    def __init__(self, writer, counts):
        self._writer = writer
        self._counts = counts

    def write(self, data):
        result = self._writer.write(data)
        self._counts.stored_bytes += len(data)
        return result

    def __enter__(self):
        entered = self._writer.__enter__()
        return (
            self
            if entered is self._writer
            else _CountingWriter(entered, self._counts)
        )

    def __exit__(self, *exc_info):
        return self._writer.__exit__(*exc_info)

    def __getattr__(self, name):
        return getattr(self._writer, name)


class StoreCounts:
    """The two figures of one backup, or None where the driver cannot
    tell (see the module's docstring)."""

    def __init__(self):
        self.stored_bytes = None
        self.changed_bytes = None

    def figures(self):
        return {
            name: value
            for name, value in (
                ('stored_bytes', self.stored_bytes),
                ('changed_bytes', self.changed_bytes),
            )
            if value is not None
        }


@contextlib.contextmanager
def _replaced(driver, methods):
    """``driver`` with ``methods`` (name -> function) for the block."""
    own = {}  # what the instance itself held under those names
    for name, method in methods.items():
        if name in vars(driver):
            own[name] = vars(driver)[name]
        setattr(driver, name, method)
    try:
        yield
    finally:
        for name in methods:
            if name in own:
                setattr(driver, name, own[name])
            else:
                delattr(driver, name)  # the class's method shows again


def _silent(*args, **kwargs):
    """A stock progress notification, not sent."""


@contextlib.contextmanager
def metered(driver):
    """Count on ``driver`` and silence its own progress notifications for
    the block; the StoreCounts."""
    counts = StoreCounts()
    methods = {
        name: _silent
        for name in ('_send_progress_notification', '_send_progress_end')
        if callable(getattr(driver, name, None))
    }
    writer = getattr(driver, 'get_object_writer', None)
    backup_chunk = getattr(driver, '_backup_chunk', None)
    if callable(writer) and callable(backup_chunk):
        counts.stored_bytes = counts.changed_bytes = 0

        def get_object_writer(*args, **kwargs):
            return _CountingWriter(writer(*args, **kwargs), counts)

        def _backup_chunk(backup, container, data, *args, **kwargs):
            counts.changed_bytes += len(data)
            return backup_chunk(backup, container, data, *args, **kwargs)

        methods['get_object_writer'] = get_object_writer
        methods['_backup_chunk'] = _backup_chunk
    with _replaced(driver, methods):
        yield counts
