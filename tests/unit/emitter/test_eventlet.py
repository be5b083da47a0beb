from tests.support.checks import run_eventlet_backup


def test_backup_notifications_in_an_eventlet_patched_process():
    result = run_eventlet_backup('fake://', 'test')
    assert result['green'] is True
    # 16 chunks of 0.1 s: one report at 10 objects, at least one from the
    # 1 s timer, and the final 100 %.
    events = result['events']
    assert events[0] == 'backup.create.start'
    assert events[-1] == 'backup.create.end'
    assert events.count('backup.createprogress') >= 3
    assert 'backup-progress-timer' not in result['threads']
