"""An inner backup driver for the wrapper's unit tests.

It stores chunks in memory and records every call, so the tests can see
that the wrapper passes everything through unchanged.
"""

import json

CHUNK = 4 * 1024 * 1024


class FakeBackupDriver:
    support_force_delete = True
    stored = {}

    def __init__(self, context, **kwargs):
        self.context = context
        self.kwargs = kwargs
        self.calls = []
        self.fail_with = None

    def _call(self, name, *args):
        self.calls.append((name, args))
        if self.fail_with is not None:
            raise self.fail_with

    def check_for_setup_error(self):
        self._call('check_for_setup_error')

    def backup(self, backup, volume_file, backup_metadata=False):
        self._call('backup', backup, backup_metadata)
        chunks = []
        while data := volume_file.read(CHUNK):
            chunks.append(data)
        self.stored[backup.id] = chunks
        return {'object_count': len(chunks)}

    def restore(self, backup, volume_id, volume_file, volume_is_new):
        self._call('restore', backup, volume_id, volume_is_new)
        for chunk in self.stored[backup.id]:
            volume_file.write(chunk)
            volume_file.flush()  # once per object, as chunked drivers do

    def delete_backup(self, backup):
        self._call('delete_backup', backup)
        self.stored.pop(backup.id, None)

    def export_record(self, backup):
        self._call('export_record', backup)
        return {'driver': 'fake', 'backup': backup.id}

    def import_record(self, backup, driver_info):
        self._call('import_record', backup, driver_info)

    def get_metadata(self, volume_id):
        self._call('get_metadata', volume_id)
        return json.dumps({'volume': volume_id})

    def put_metadata(self, volume_id, json_metadata):
        self._call('put_metadata', volume_id, json_metadata)
