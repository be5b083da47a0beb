"""The volume file a backup reads or a restore writes, with progress counted.

Wrapping the file, rather than a driver's chunk loop, gives create and
restore progress for every driver, chunked or not (Ceph included). The
data itself is handed through, never copied.

What counts:

- bytes done is the furthest position read or written. A restore onto a
  new volume skips all-zero regions (Cinder's ``_write_nonzero``), so
  summing the bytes written would fall short;
- an object is one read that returned data (chunked drivers read one
  object per call), or, when restoring, one ``flush()`` after writes
  (chunked drivers write an object in 1 MiB pieces, then flush it).
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class CountingVolumeFile:
    """Behaves as ``volume_file``; tells ``advance(nbytes, objects)``."""

    def __init__(self, volume_file, advance):
        self._file = volume_file
        self._advance = advance
        self._position = 0
        self._furthest = 0
        self._unflushed = False
        self._counting = True

    def _counts(self, nbytes):
        """Whether to go on counting: not once the file has told something
        other than a number of bytes (a Mock's answers); its data still go
        through as they are."""
        if self._counting and not _told(
            self._file, nbytes, 'its progress is counted no further'
        ):
            self._counting = False
        return self._counting

    def _moved(self, nbytes, objects):
        if not self._counts(nbytes):
            return
        self._position += nbytes
        if self._position > self._furthest:
            self._advance(self._position - self._furthest, objects)
            self._furthest = self._position
        elif objects:
            self._advance(0, objects)

    def read(self, *args, **kwargs):
        data = self._file.read(*args, **kwargs)
        if data:
            self._moved(_length(data), 1)
        return data

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        if count:
            self._moved(count, 1)
        return count

    def write(self, data):
        count = self._file.write(data)
        # Some file-likes (tpool proxies of old, raw sockets) return None.
        self._moved(_length(data) if count is None else count, 0)
        self._unflushed = True
        return count

    def flush(self):
        result = self._file.flush()
        if self._unflushed:
            self._unflushed = False
            self._moved(0, 1)
        return result

    def seek(self, offset, whence=0):
        position = self._file.seek(offset, whence)
        if position is None:
            position = offset if whence == 0 else self._file.tell()
        if self._counts(position):
            self._position = position
        return position

    def __iter__(self):
        return self

    def __next__(self):
        line = next(self._file)
        self._moved(_length(line), 1)
        return line

    def __enter__(self):
        self._file.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._file.__exit__(*exc_info)

    def __getattr__(self, name):
        # tell, fileno, close, closed, name, mode, ...
        return getattr(self._file, name)


def measured_size(volume_file):
    """Bytes from the start to the end of the file, or None if unknown.

    A block device reports its size only through seek, so this asks seek,
    then puts the position back.
    """
    try:
        position = volume_file.tell()
        # Checked before any seek: a position that is no number (a Mock's
        # converts to 1) must not move the file the driver reads.
        if not _told(volume_file, position, _BY_BACKUP_SIZE):
            return None
        volume_file.seek(0, 2)
        end = volume_file.tell()
        volume_file.seek(position)
    except Exception:
        return None
    return (end or None) if _told(volume_file, end, _BY_BACKUP_SIZE) else None


_BY_BACKUP_SIZE = "progress is measured against the backup's size"


def _told(volume_file, value, consequence):
    """Whether ``value``, told by ``volume_file``, is a number of bytes;
    where it is not, one WARNING says so and what follows."""
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    LOG.warning(
        'The volume file (a %(file)s) tells a %(kind)s where a number of '
        'bytes is due: %(consequence)s',
        {
            'file': type(volume_file).__name__,
            'kind': type(value).__name__,
            'consequence': consequence,
        },
    )
    return False


def _length(data):
    """``len(data)``, or data without one (a Mock) as it is, for ``_told``
    to name."""
    try:
        return len(data)
    except TypeError:
        return data
