import argparse
import io

from ceilometer_backup.cmd import demo
from tests.support import MIB


def test_demo_meters_simulated_backups_end_to_end():
    """Emitter -> fake:// -> listener -> backup entry point -> pipeline."""
    out = io.StringIO()
    args = argparse.Namespace(
        transport_url='fake://',
        size_gib=1,
        objects_per_notification=4,
        seconds_per_object=0,
    )
    assert demo.run(args, out) == 0
    lines = out.getvalue().splitlines()
    total = lines.index('44 samples')
    # Progress: 4 for each create and the restore. Sizes: 6 starts, 5
    # ends. Ends: 5 durations, stored and changed for both creates.
    meters = [line.split()[0] for line in lines[1:total]]
    assert meters.count('backup.progress') == 12
    assert meters.count('backup.size') == 11
    assert meters.count('backup.error') == 1
    assert meters.count('backup.stored.size') == 2
    assert meters.count('backup.changed.size') == 2
    assert 'backup.create.duration' in meters
    assert any('fail_reason=simulated' in line for line in lines)
    # Side by side: both bill 1 GiB; the incremental carries the two
    # changed 64 MiB objects only, and stores less than it carries.
    rows = {
        line.split()[1]: line.split()[2:]
        for line in lines[total + 4 :]
        if line.strip()
    }
    assert set(rows) == {'full', 'incremental'}
    full = [int(v.replace(',', '')) for v in rows['full']]
    incremental = [int(v.replace(',', '')) for v in rows['incremental']]
    assert full[:2] == [1, 1024 * MIB]
    assert incremental[:2] == [1, 2 * 64 * MIB]
    assert 0 < incremental[2] < full[2] < full[1]
