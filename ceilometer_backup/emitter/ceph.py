"""Cinder's Ceph backup driver (``cinder.backup.drivers.ceph``).

It moves data two ways, and the volume file sees neither whole:

- from an RBD volume, and back onto one, ``rbd export-diff | rbd
  import-diff``: two processes piped into each other, nothing passing
  through cinder-backup. How far one has got is what the export has
  written into the pipe, its ``wchar`` in ``/proc/<pid>/io``, read at
  each progress report; how far it will go is what ``rbd diff`` lists for
  the same snapshots, asked alongside: a backup waits for it only once
  its transfer succeeded, and at most DIFF_WAIT seconds. Those data
  extents are the backup's changed bytes, and exactly what import-diff
  writes into the backup image: its stored bytes (the small metadata
  object Cinder writes beside it is not counted).
- from any other volume, a full copy by chunks (``_transfer_data``) into
  an image of its own: every byte read is written, zeros included, and
  counted on that image's writer. The volume file gives the progress.

Anything that fails here costs the figures, never the backup.
"""

import os
import subprocess
import tempfile

from oslo_log import log as logging

from ceilometer_backup import contract as c
from ceilometer_backup.emitter import family
from ceilometer_backup.upstream import cinder

LOG = logging.getLogger(__name__)

# How long a finished transfer waits for ``rbd diff`` to tell its size.
DIFF_WAIT = 10


DRIVER = cinder.CEPH_DRIVER
# Its methods the metering replaces, and what goes without them.
PRIVATE = cinder.of(DRIVER)


def hooks(driver, counts, op):
    """For Cinder's Ceph driver (``DRIVER``) and its subclasses only: a
    third-party driver may have methods of the same names."""
    methods = {}
    if DRIVER not in family.lineage(type(driver)):
        return methods
    piped_execute = getattr(driver, '_piped_execute', None)
    if callable(piped_execute) and op.operation in c.PROGRESS_EVENTS:

        def _piped_execute(cmd1, cmd2):
            transfer = RbdTransfer.start(op, cmd1)
            result = None
            try:
                result = piped_execute(cmd1, cmd2)
                return result
            finally:
                if transfer is not None:
                    transfer.finish(
                        result, counts if op.operation == c.CREATE else None
                    )

        methods['_piped_execute'] = _piped_execute
    transfer_data = getattr(driver, '_transfer_data', None)
    if callable(transfer_data) and op.operation == c.CREATE:

        def _transfer_data(src, src_name, dest, *args, **kwargs):
            counts.add(0, 0)
            before = counts.stored_bytes
            try:
                return transfer_data(
                    src, src_name, counts.writer(dest), *args, **kwargs
                )
            finally:
                counts.changed_bytes += counts.stored_bytes - before

        methods['_transfer_data'] = _transfer_data
    return methods


def diff_command(export_diff):
    """``rbd diff`` of what ``export_diff`` (``rbd export-diff [ARGS]
    IMAGE@SNAP -``, as Cinder builds it) exports."""
    if export_diff[:2] != ['rbd', 'export-diff'] or export_diff[-1] != '-':
        raise ValueError(
            "Cinder's rbd export-diff command is not of the form "
            "'rbd export-diff ... IMAGE -'"
        )
    return ['rbd', 'diff', *export_diff[2:-1]]


def data_bytes(listing):
    """The bytes of the data extents in ``rbd diff``'s plain listing
    (``Offset Length Type`` lines); extents zeroed since carry none."""
    total = 0
    for line in listing:
        fields = line.split()
        if len(fields) == 3 and fields[2] == b'data':
            total += int(fields[1])
    return total


class RbdTransfer:
    """One ``rbd export-diff | rbd import-diff``, watched from outside.

    ``sample`` is the ``(moved, total)`` a ProgressReporter asks for;
    ``size`` the data bytes of the diff once ``rbd diff`` told them.
    """

    def __init__(self, op, export_diff):
        self._op = op
        # Its arguments end its command line (behind an interpreter's, were
        # rbd a script).
        self._arguments = b''.join(
            os.fsencode(a) + b'\0' for a in export_diff[1:]
        )
        self._parent = os.getpid()
        self._process = None
        self._gone = False
        self._broken = False
        self._moved = 0
        self.size = None
        self._listed = False
        # rbd diff's output goes to files, not pipes: a pipe nobody reads
        # while it runs would stop a long listing.
        self._listing = tempfile.TemporaryFile()
        self._errors = tempfile.TemporaryFile()
        try:
            # Cinder's own arguments to rbd, as a list: no shell.
            self._diff = subprocess.Popen(  # noqa: S603
                diff_command(export_diff),
                stdin=subprocess.DEVNULL,
                stdout=self._listing,
                stderr=self._errors,
                close_fds=True,
            )
        except BaseException:
            self._close()
            raise

    @classmethod
    def start(cls, op, export_diff):
        """The transfer, watched by ``op``'s progress; None if it cannot
        be watched."""
        try:
            transfer = cls(op, export_diff)
            op.watch(transfer)
        except Exception as error:
            LOG.warning(
                'Backup %(backup)s %(operation)s: no progress and no stored '
                'or changed bytes for its RBD transfer: %(error)s',
                {
                    'backup': op.backup_id,
                    'operation': op.operation,
                    'error': error,
                },
            )
            return None
        return transfer

    def sample(self):
        try:
            if not self._listed and self._diff.poll() is not None:
                self._read_listing()
            self._moved = max(self._moved, self._written())
        except Exception:
            # Asked by the progress timer: the figures stay as they were.
            if not self._broken:
                self._broken = True
                LOG.warning(
                    'Backup %(backup)s %(operation)s: could not read how far '
                    'its RBD transfer got',
                    {
                        'backup': self._op.backup_id,
                        'operation': self._op.operation,
                    },
                    exc_info=True,
                )
        if self.size is None:
            return self._moved, None
        # The stream's own headers are not volume bytes.
        return min(self._moved, self.size), self.size

    def _read_listing(self):
        self._listed = True
        if self._diff.returncode:
            self._errors.seek(0)
            LOG.warning(
                'Backup %(backup)s %(operation)s: rbd diff failed (exit '
                '%(code)s), no stored or changed bytes for its RBD '
                'transfer: %(stderr)s',
                {
                    'backup': self._op.backup_id,
                    'operation': self._op.operation,
                    'code': self._diff.returncode,
                    'stderr': self._errors.read(2000).decode(
                        'utf-8', 'replace'
                    ),
                },
            )
            return
        self._listing.seek(0)
        self.size = data_bytes(self._listing)

    def _written(self):
        """Bytes the export has written so far (0 before it is found)."""
        if self._gone:
            return self._moved
        if self._process is None:
            self._process = _child(self._parent, self._arguments)
            if self._process is None:
                return 0
        pid, started = self._process
        try:
            # Exited, it is still there (a zombie, its figures whole) until
            # Cinder reaps it; then its PID may be another's.
            if _stat(pid)[_STARTTIME] != started:
                raise ProcessLookupError
            with open(f'/proc/{pid}/io', 'rb') as f:
                for line in f:
                    if line.startswith(b'wchar:'):
                        return int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
        # Any other error (no right to read it) is sample()'s to log.
        self._gone = True  # the export is over
        return self._moved

    def finish(self, result, counts):
        """The transfer is over with ``result`` (Cinder's ``(returncode,
        stderr)``, None if it raised): into ``counts`` (if given) the
        diff's size as stored and changed bytes, if it succeeded. Only
        then is ``rbd diff`` waited for, at most DIFF_WAIT seconds."""
        succeeded = isinstance(result, tuple) and result[:1] == (0,)
        wanted = succeeded and counts is not None
        try:
            try:
                self._diff.wait(DIFF_WAIT if wanted else 0)
            except subprocess.TimeoutExpired:
                # Before the kill: no report takes its exit for a failure.
                self._listed = True
                self._diff.kill()
                self._diff.wait()
                if wanted:
                    LOG.warning(
                        'Backup %(backup)s %(operation)s: rbd diff was not '
                        'done %(wait)s s after its RBD transfer; no stored '
                        'or changed bytes for it',
                        {
                            'backup': self._op.backup_id,
                            'operation': self._op.operation,
                            'wait': DIFF_WAIT,
                        },
                    )
        except Exception:
            LOG.warning(
                'Backup %(backup)s %(operation)s: could not measure its RBD '
                'transfer',
                {
                    'backup': self._op.backup_id,
                    'operation': self._op.operation,
                },
                exc_info=True,
            )
        finally:
            # The last figures (the listing too, if done), then no more.
            self._op.unwatch(succeeded)
            self._close()
        if wanted and self.size is not None:
            counts.add(self.size, self.size)

    def _close(self):
        self._listing.close()
        self._errors.close()


# In /proc/PID/stat, after the command (which may hold ')').
_PPID = 1
_STARTTIME = 19


def _stat(pid):
    with open(f'/proc/{pid}/stat', 'rb') as f:
        return f.read().rsplit(b')', 1)[1].split()


def _children(parent):
    """PIDs of ``parent``'s children: from its threads' ``children``
    files, a few small reads; where the kernel has none, every process's
    ``stat`` is read instead."""
    pids = []
    try:
        for task in os.listdir(f'/proc/{parent}/task'):
            with open(f'/proc/{parent}/task/{task}/children', 'rb') as f:
                pids.extend(f.read().split())
    except FileNotFoundError:
        return [entry for entry in os.listdir('/proc') if entry.isdigit()]
    return [pid.decode() for pid in pids]


def _child(parent, arguments):
    """``(pid, start time)`` of ``parent``'s child whose command line ends
    with ``arguments``, or None."""
    for entry in _children(parent):
        try:
            stat = _stat(entry)
            if int(stat[_PPID]) != parent:
                continue
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                if f.read().endswith(arguments):
                    return int(entry), stat[_STARTTIME]
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return None
