"""A spool another user than the agent's reads: the agent's directory is
0700 under its home, so such a user is refused at its path or when it
lists it. Root, running the tests, never is: the refusal is made here."""

import contextlib

import pytest

from ceilometer_backup.meter.gnocchi import spool

# Where a reader is refused: at the directory's path, or listing it.
REFUSALS = pytest.mark.parametrize('refusing', ['stat', 'listing'])


@contextlib.contextmanager
def refused(monkeypatch, directory, refusing):
    """The spool made at ``directory``, then refused as ``refusing`` says
    while the block runs."""
    spool.Spool(directory, 1024**2)

    def refuse(*args, **kwargs):
        raise PermissionError(13, 'Permission denied', directory)

    with monkeypatch.context() as patched:
        if refusing == 'stat':
            patched.setattr(spool.os, 'stat', refuse)
        else:
            patched.setattr(spool.Spool, 'batches', refuse)
            patched.setattr(spool.Spool, 'held', refuse)
        yield
