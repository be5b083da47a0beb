import datetime
import json

from cinder.volume import volume_utils

from ceilometer_backup import contract as c
from ceilometer_backup.emitter.payload import build_payload
from tests.support import cinder_objects


def test_cinder_keys_and_values_match_cinder_usage_from_backup():
    backup = cinder_objects.backup()
    upstream = volume_utils._usage_from_backup(backup)
    payload = build_payload(backup)
    assert set(upstream) == set(c.CINDER_USAGE_KEYS)
    assert {k: payload[k] for k in upstream} == upstream
    assert set(payload) == set(c.USAGE_KEYS)


def test_adds_what_metering_needs():
    parent = cinder_objects.backup()
    backup = cinder_objects.backup(parent_id=parent.id, object_count=42)
    payload = build_payload(backup)
    assert payload['is_incremental'] is True
    assert payload['object_count'] == 42
    assert payload['container'] == 'backups'
    assert payload['data_timestamp'] == '2026-01-02T03:04:05+00:00'


def test_extra_overrides_like_cinder():
    backup = cinder_objects.backup()
    payload = build_payload(backup, status='error', backup_percent=50.0)
    expected = volume_utils._usage_from_backup(
        backup, status='error', backup_percent=50.0
    )
    assert {k: payload[k] for k in expected} == expected


def test_unset_fields_of_a_versioned_object_become_none():
    # Cinder's own _usage_from_backup raises on this object.
    backup = cinder_objects.objects.Backup(
        context=cinder_objects.request_context(), id='b-1'
    )
    payload = build_payload(backup)
    assert payload['backup_id'] == 'b-1'
    assert payload['created_at'] is None
    assert payload['size'] is None
    assert payload['is_incremental'] is False


def test_dict_with_object_attribute_names():
    payload = build_payload(
        {
            'id': 'b-2',
            'project_id': 'p',
            'created_at': datetime.datetime(2026, 5, 6, 7, 8, 9),
            'size': 3,
            'parent_id': 'b-1',
        }
    )
    assert payload['backup_id'] == 'b-2'
    assert payload['tenant_id'] == 'p'
    assert payload['created_at'] == '2026-05-06T07:08:09'
    assert payload['size'] == 3
    assert payload['is_incremental'] is True
    assert payload['display_name'] is None


class _Odd:
    """An object whose attributes misbehave in every way a caller's might."""

    id = 'b-3'
    display_name = 'z\u00fcrich \u2603 backup'
    size = '10'
    num_dependent_backups = True
    created_at = '2026-01-01T00:00:00'
    service_metadata = {'prefix': object()}

    @property
    def status(self):
        raise RuntimeError('lazy load failed')


def test_odd_attributes_give_a_json_serialisable_payload():
    payload = build_payload(_Odd(), volume_meta={'k': {1, 2}})
    json.dumps(payload)
    assert payload['status'] is None
    assert payload['size'] is None, 'a string size must not pass as a size'
    assert payload['num_dependent_backups'] is None
    assert payload['created_at'] == '2026-01-01T00:00:00'
    assert payload['display_name'] == 'z\u00fcrich \u2603 backup'
    assert payload['volume_meta'] == {'k': [1, 2]}
