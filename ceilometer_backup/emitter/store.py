"""What one backup puts in the backup store, counted where the driver
moves its data.

Cinder bills an incremental backup at the whole volume's size (its manager
sets ``backup.size = volume['size']``). Only the driver knows what a backup
really holds, and each family of drivers moves its data its own way, so
each has a module of its own (``chunked``, ``ceph``; what one provides
is ``family.DriverFamily``) that gives, for one operation, the methods
to put in place of the driver instance's own: ``hooks(driver, counts,
op)``. Cinder builds a driver per operation, so
replacing a method on that instance, for the length of the call, touches
nothing else. The figures, on create's ``.end``:

- ``stored_bytes``: the bytes the backup puts into the backup store (what
  each family counts, and leaves out, is in its module);
- ``changed_bytes``: the volume bytes the backup carries, every byte for a
  full copy, the changed extents for an incremental or differential one.

A driver no module knows (most third-party drivers) gets neither: absent,
never guessed. Nothing written changes, nor how.
"""

import contextlib

from ceilometer_backup.emitter import ceph, chunked

# Every driver family counted (see ``family``); where two replace the same
# method, the later one's is used.
FAMILIES = (chunked, ceph)


class CountingWriter:
    """A writer of the store (an object, an image), counting what is
    written into ``counts.stored_bytes``."""

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
            else CountingWriter(entered, self._counts)
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

    def writer(self, writer):
        """``writer``, counting what is written into it as stored."""
        return CountingWriter(writer, self)

    def add(self, stored_bytes, changed_bytes):
        self.stored_bytes = (self.stored_bytes or 0) + stored_bytes
        self.changed_bytes = (self.changed_bytes or 0) + changed_bytes

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


@contextlib.contextmanager
def metered(driver, op):
    """Meter ``driver`` for the block of operation ``op``; the
    StoreCounts. With notifications off, the driver is left as it is."""
    counts = StoreCounts()
    methods = {}
    if op.enabled:
        for family in FAMILIES:
            methods.update(family.hooks(driver, counts, op))
    with _replaced(driver, methods):
        yield counts
