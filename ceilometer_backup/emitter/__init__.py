"""The Cinder side: backup usage payloads and their notifications."""

from ceilometer_backup.emitter.notifier import BackupNotifier
from ceilometer_backup.emitter.payload import build_payload

__all__ = ['BackupNotifier', 'build_payload']
