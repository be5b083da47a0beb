"""Backup samples Gnocchi cannot take yet, kept on disk in their order.

While Gnocchi is unreachable the ``backup-gnocchi://`` publisher keeps each
batch here and lets the agent acknowledge its messages: the broker never
hands the batch back through the agent's other endpoints, and a killed
agent loses nothing it acknowledged. A batch is one file, whole or absent
(written under a temporary name, flushed, renamed), named so that names
sort in the order batches were kept. The ``[notification] workers`` of a
host share the directory; a lock file lets one of them send at a time.
"""

import contextlib
import fcntl
import itertools
import json
import os
import time

from ceilometer.sample import Sample

SUFFIX = '.json'
# A file that cannot be sent is renamed with one of these added.
UNREADABLE = '.unreadable'
REFUSED = '.refused'


class Spool:
    def __init__(self, directory, max_bytes, make=True):
        """``make``: the directory made if absent, as the publisher needs;
        else only looked at (OSError: FileNotFoundError if none was made,
        PermissionError for another user than the agent's), as those who
        read what it keeps need."""
        if make:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        else:
            os.stat(directory)
        self.directory = directory
        self.max_bytes = max_bytes
        self._sequence = itertools.count()

    def _path(self, name):
        return os.path.join(self.directory, name)

    def _kept(self):
        with os.scandir(self.directory) as entries:
            return [e for e in entries if e.name.endswith(SUFFIX)]

    def held(self):
        """The bytes of the kept batches."""
        held = 0
        for entry in self._kept():
            try:
                held += entry.stat().st_size
            except FileNotFoundError:
                pass  # sent meanwhile
        return held

    def batches(self):
        """The names of the kept batches, oldest first."""
        return sorted(entry.name for entry in self._kept())

    def set_apart(self):
        """The names of the batches set aside (``set_aside``)."""
        return sorted(
            name
            for name in os.listdir(self.directory)
            if name.endswith((SUFFIX + UNREADABLE, SUFFIX + REFUSED))
        )

    @staticmethod
    def kept_at(name):
        """When batch ``name`` was kept, in seconds since the epoch."""
        return int(name.split('-', 1)[0]) / 1e9

    def put(self, samples):
        """Keep ``samples`` as the newest batch, durably; False when the
        spool has no room for them. Raises OSError if the disk does."""
        data = ''.join(
            json.dumps(s.as_dict(), default=str) + '\n' for s in samples
        ).encode()
        if self.held() + len(data) > self.max_bytes:
            return False
        name = (
            f'{time.time_ns():020d}-{os.getpid()}-'
            f'{next(self._sequence):08d}{SUFFIX}'
        )
        temporary = self._path(f'.{name}.tmp')
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, self._path(name))
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True

    def read(self, name):
        """The samples of batch ``name``; OSError or ValueError (JSON,
        fields) when it cannot be read."""
        with open(self._path(name), encoding='utf-8') as f:
            try:
                return [Sample(**json.loads(line)) for line in f]
            except TypeError as exc:
                raise ValueError(exc) from exc

    def remove(self, name):
        os.unlink(self._path(name))

    def set_aside(self, name, suffix):
        """Rename batch ``name`` so it is no longer sent; its new path."""
        path = self._path(name + suffix)
        os.rename(self._path(name), path)
        return path

    @contextlib.contextmanager
    def sending(self):
        """Whether this process may send the spool now (no other process
        of the host sends it); held until the block ends."""
        fd = os.open(
            self._path('.sending.lock'), os.O_RDWR | os.O_CREAT, 0o600
        )
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
            else:
                yield True
        finally:
            os.close(fd)
