"""The configuration every test builds its notifier from."""

import oslo_messaging
from oslo_config import cfg

from ceilometer_backup import opts


def make_conf(url='fake://', driver='test', **notification_opts):
    """ConfigOpts with this project's and oslo.messaging's options set.

    ``driver`` ``test`` is oslo.messaging's own in-memory recorder.
    """
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project='ceilometer-backup', default_config_files=[])
    oslo_messaging.get_notification_transport(conf, url=url)
    conf.set_override('transport_url', url)
    conf.set_override('driver', [driver], group='oslo_messaging_notifications')
    for name, value in notification_opts.items():
        conf.set_override(name, value, group=opts.NOTIFICATIONS_GROUP)
    return conf
