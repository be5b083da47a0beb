"""The options' names, and the earlier names a cinder.conf may still use."""

import importlib
import logging

from oslo_config import cfg

from ceilometer_backup import opts


def _load(tmp_path, text):
    path = tmp_path / 'cinder.conf'
    path.write_text(text)
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project='cinder', default_config_files=[str(path)])
    return conf.backup_notifications


def test_earlier_names_still_work_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        group = _load(
            tmp_path,
            '[backup_notifications]\n'
            'backup_driver = cinder.backup.drivers.posix.PosixBackupDriver\n'
            'backup_object_number_per_notification = 3\n'
            'backup_timer_interval = 7\n',
        )
        values = (
            group.wrapped_driver,
            group.progress_every_objects,
            group.progress_every_seconds,
        )
    assert values == ('cinder.backup.drivers.posix.PosixBackupDriver', 3, 7)
    warnings = [r.getMessage() for r in caplog.records]
    for old, new in (
        ('backup_driver', 'wrapped_driver'),
        ('backup_object_number_per_notification', 'progress_every_objects'),
        ('backup_timer_interval', 'progress_every_seconds'),
    ):
        assert any(old in w and new in w for w in warnings), (old, warnings)


def test_no_option_of_the_group_shares_a_name_with_cinders():
    from cinder import objects

    objects.register_all()  # before the backup manager is imported
    for module in (
        'cinder.common.config',
        'cinder.backup.api',
        'cinder.backup.manager',
        'cinder.backup.drivers.posix',  # and the chunked driver's options
    ):
        importlib.import_module(module)

    cinder = set(cfg.CONF)
    ours = {opt.name for opt in opts.notification_opts}
    assert not ours & cinder, ours & cinder
