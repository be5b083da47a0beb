import io
import logging
import os
from unittest import mock

import pytest

from ceilometer_backup.emitter.volume_file import (
    CountingVolumeFile,
    measured_size,
)


class Recording:
    def __init__(self):
        self.calls = []

    def __call__(self, nbytes, objects):
        self.calls.append((nbytes, objects))


class SameObjectBytesIO(io.BytesIO):
    """Remembers what read() returned, to check nothing is copied."""

    last = None

    def read(self, *args):
        self.last = super().read(*args)
        return self.last


def test_read_counts_and_hands_the_same_bytes_through():
    inner = SameObjectBytesIO(b'a' * 10)
    advance = Recording()
    counted = CountingVolumeFile(inner, advance)
    first = counted.read(4)
    assert first is inner.last
    assert counted.read() == b'a' * 6
    assert counted.read() == b''
    assert advance.calls == [(4, 1), (6, 1)]


def test_readinto_and_iteration_count_objects():
    advance = Recording()
    counted = CountingVolumeFile(io.BytesIO(b'line1\nline2\n'), advance)
    buffer = bytearray(3)
    assert counted.readinto(buffer) == 3 and bytes(buffer) == b'lin'
    assert list(counted) == [b'e1\n', b'line2\n']
    assert advance.calls == [(3, 1), (3, 1), (6, 1)]


def test_restore_writes_count_bytes_and_a_flush_counts_the_object():
    """As Cinder's chunked restore: 1 MiB pieces, then one flush."""
    advance = Recording()
    inner = io.BytesIO()
    counted = CountingVolumeFile(inner, advance)
    for _ in range(4):
        counted.write(b'x' * 1024)
    counted.flush()
    counted.flush()  # nothing written since: no object
    assert advance.calls == [(1024, 0)] * 4 + [(0, 1)]
    assert inner.getvalue() == b'x' * 4096


def test_skipped_zero_regions_count_as_done():
    """Cinder's _write_nonzero seeks over all-zero pieces of a new volume."""
    advance = Recording()
    counted = CountingVolumeFile(io.BytesIO(), advance)
    assert counted.seek(3072) == 3072
    counted.write(b'y' * 1024)
    counted.seek(0)
    counted.write(b'z' * 1024)  # behind the furthest point: not new
    counted.flush()
    assert advance.calls == [(4096, 0), (0, 1)]


def test_write_to_a_file_like_returning_none_counts_the_data():
    class OldStyle:
        def write(self, data):
            return None

    advance = Recording()
    assert CountingVolumeFile(OldStyle(), advance).write(b'1234') is None
    assert advance.calls == [(4, 0)]


def test_everything_else_is_the_original_file(tmp_path):
    path = tmp_path / 'volume'
    path.write_bytes(b'0123456789')
    advance = Recording()
    with open(path, 'r+b') as raw:
        with CountingVolumeFile(raw, advance) as counted:
            assert counted.seek(4) == 4
            assert counted.tell() == 4
            assert counted.fileno() == raw.fileno()
            assert counted.name == str(path)
            assert counted.mode == 'rb+'
            counted.flush()
            os.fsync(counted.fileno())
            assert counted.read(2) == b'45'
        assert counted.closed
    # Position 4 after the seek, 6 after the read: 6 bytes are behind us.
    assert advance.calls == [(6, 1)]


def test_exit_passes_exceptions_through():
    counted = CountingVolumeFile(io.BytesIO(b''), Recording())
    with pytest.raises(KeyError):
        with counted:
            raise KeyError('inside')


def test_measured_size_keeps_the_position(tmp_path):
    path = tmp_path / 'volume'
    path.write_bytes(b'x' * 1000)
    with open(path, 'rb') as f:
        f.seek(123)
        assert measured_size(f) == 1000
        assert f.tell() == 123


def test_measured_size_of_unseekable_or_empty_is_unknown():
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, 'rb') as pipe, os.fdopen(write_end, 'wb'):
        assert measured_size(pipe) is None
    assert measured_size(io.BytesIO()) is None


def test_a_file_that_tells_no_numbers_goes_through_uncounted(caplog):
    """As Cinder's own unit tests hand a driver: every answer a Mock."""
    inner = mock.Mock()
    advance = Recording()
    counted = CountingVolumeFile(inner, advance)
    with caplog.at_level(logging.WARNING):
        assert counted.read(4) is inner.read.return_value
        assert counted.write(b'abc') is inner.write.return_value
        assert counted.seek(3) is inner.seek.return_value
        counted.flush()
    assert advance.calls == []
    (warning,) = [r.getMessage() for r in caplog.records]
    assert 'a Mock where a number of bytes is due' in warning


def test_counting_stops_at_the_first_answer_that_is_no_number(caplog):
    class SeekTellsNothing(io.BytesIO):
        def seek(self, *args):
            super().seek(*args)
            return mock.MagicMock()

    advance = Recording()
    counted = CountingVolumeFile(SeekTellsNothing(b'a' * 10), advance)
    with caplog.at_level(logging.WARNING):
        assert counted.read(4) == b'aaaa'
        counted.seek(0)
        assert counted.read() == b'a' * 10
    assert advance.calls == [(4, 1)]
    assert len(caplog.records) == 1
