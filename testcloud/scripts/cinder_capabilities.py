"""What a cinder-scheduler does at its start, with Cinder's own client:
ask every cinder-backup to publish its capabilities. Run with Cinder's
virtualenv's Python (``Cinder.publish_backup_capabilities``)::

    python cinder_capabilities.py CINDER_CONF
"""

import sys

from cinder import context, objects, rpc
from cinder.backup import rpcapi
from cinder.common import config


def main(conf_file):
    config.CONF(['--config-file', conf_file], project='cinder')
    objects.register_all()
    rpc.init(config.CONF)
    rpcapi.BackupAPI().publish_service_capabilities(
        context.get_admin_context()
    )
    rpc.cleanup()


if __name__ == '__main__':
    main(sys.argv[1])
