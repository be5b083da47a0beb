import argparse
import io

from ceilometer_backup.cmd import demo


def test_demo_meters_a_simulated_backup_end_to_end():
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
    # 2 x 4 progress; start 2 + end 3 samples per operation; start + error.
    assert lines[-1] == '26 samples'
    meters = [line.split()[0] for line in lines[1:-1]]
    assert meters.count('backup.progress') == 8
    assert meters.count('backup.size') == 7
    assert meters.count('backup.error') == 1
    assert 'backup.create.duration' in meters
    assert any('fail_reason=simulated' in line for line in lines)
