"""TEST-ONLY Cinder volume driver: every volume is a sparse file.

Not for production: no snapshots, no exports, no data protection. It lets
the functional tests run a real cinder-volume and cinder-backup on a host
without LVM or an iSCSI target. Volumes are files under
``sparse_volume_directory`` and are handed out as os-brick's ``local``
connection type, so a cinder-backup on the same host opens the file
directly (Cinder's backup manager reads a ``device_path`` that is a file as
it reads a block device).

Enabled per backend in cinder.conf (``Cinder._backend``)::

    [sparse]
    volume_driver = MODULE.SparseFileVolumeDriver
    volume_backend_name = sparse
    sparse_volume_directory = /some/dir

MODULE being testcloud.scripts.sparse_volume_driver: the repository root
must be on the Cinder processes' PYTHONPATH.

A file is not a block device in one way that matters: cinder-backup opens
the restore target with ``open(path, 'wb')``, which truncates a file, and
then, restoring onto a new volume, writes only the chunks that are not
all zeros. The file would end after the last non-zero chunk, so the
driver gives it back its full size when cinder-backup lets the volume go
(``terminate_connection``, called synchronously before the restore ends).
"""

import os
import shutil

from cinder.volume import driver
from oslo_config import cfg

GIB = 1024**3

sparse_opts = [
    cfg.StrOpt(
        'sparse_volume_directory',
        default='$state_path/sparse-volumes',
        help='Where the sparse files holding the volumes are kept.',
    ),
]


class SparseFileVolumeDriver(driver.VolumeDriver):
    VERSION = '1.0.0'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(sparse_opts)
        self.directory = self.configuration.sparse_volume_directory

    def _path(self, volume):
        return os.path.join(self.directory, volume.name)

    def do_setup(self, context):
        os.makedirs(self.directory, exist_ok=True)

    def check_for_setup_error(self):
        if not os.access(self.directory, os.W_OK):
            raise RuntimeError(f'{self.directory} is not writable')

    def create_volume(self, volume):
        with open(self._path(volume), 'xb') as f:
            f.truncate(volume.size * GIB)
        return {'provider_location': self._path(volume)}

    def delete_volume(self, volume):
        try:
            os.remove(self._path(volume))
        except FileNotFoundError:
            pass

    def extend_volume(self, volume, new_size):
        os.truncate(self._path(volume), new_size * GIB)

    def create_export(self, context, volume, connector):
        pass

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        self._restore_size(volume)

    def initialize_connection(self, volume, connector):
        return {
            'driver_volume_type': 'local',
            'data': {'device_path': self._path(volume)},
        }

    def terminate_connection(self, volume, connector, **kwargs):
        self._restore_size(volume)

    def _restore_size(self, volume):
        path = self._path(volume)
        if os.path.exists(path) and os.path.getsize(path) < volume.size * GIB:
            os.truncate(path, volume.size * GIB)

    def _update_volume_stats(self):
        disk = shutil.disk_usage(self.directory)
        name = self.configuration.safe_get('volume_backend_name')
        self._stats = {
            'volume_backend_name': name or 'sparse',
            'vendor_name': 'ceilometer-backup tests',
            'driver_version': self.VERSION,
            'storage_protocol': 'local',
            'total_capacity_gb': disk.total // GIB,
            'free_capacity_gb': disk.free // GIB,
            'reserved_percentage': 0,
            'thin_provisioning_support': True,
            'thick_provisioning_support': False,
            'max_over_subscription_ratio': 20.0,
            'multiattach': False,
            'QoS_support': False,
        }
