"""What a backup is in Gnocchi: the mapping as Ceilometer's own publisher
loads it, and the resource type as the operator's upgrade makes it."""

import pytest
import yaml
from ceilometer.publisher import gnocchi as gnocchi_publisher
from ceilometer.sample import Sample
from gnocchiclient import exceptions as gnocchi_exc

from ceilometer_backup.meter import meters
from ceilometer_backup.meter.gnocchi import schema
from tests.support import config
from tests.support.fake_gnocchi import FakeGnocchi
from tests.unit.cmd.test_gnocchi import _resource_types_of, _stock

# The policies upgrade makes with an outage: the stock default's with a
# back window, then backup.idle's and backup.status's.
OURS = (
    'ceilometer-low-back-window',
    'ceilometer-backup-low-max',
    'ceilometer-backup-low-last',
)


def test_every_backup_meter_lands_on_volume_backup_only():
    stock = _stock('gnocchi_resources.yaml')
    assert _resource_types_of(stock)['backup.size'] == ['volume']
    merged = schema.gnocchi_resources(stock)
    owners = _resource_types_of(merged)
    for meter in [m.name for m in meters.METERS] + ['volume.backup.size']:
        assert owners[meter] == ['volume_backup'], meter
    # Nothing else moved, and merging twice changes nothing.
    assert owners['volume.size'] == ['volume']
    assert len(merged['resources']) == len(stock['resources']) + 1
    assert schema.gnocchi_resources(merged) == merged


def test_the_mapping_loads_in_ceilometers_gnocchi_publisher(tmp_path):
    path = tmp_path / 'gnocchi_resources.yaml'
    path.write_text(
        yaml.safe_dump(
            schema.gnocchi_resources(_stock('gnocchi_resources.yaml'))
        )
    )
    conf = config.ceilometer_conf()
    load = gnocchi_publisher.GnocchiPublisher._load_definitions
    definitions, policies = load(conf, None, str(path))
    (backup,) = [
        d for d in definitions if d.cfg['resource_type'] == 'volume_backup'
    ]
    # backup.idle keeps the max an alarm across backups needs, and
    # backup.status its last; the publisher creates their archive
    # policies, the rest keep the default.
    policy_of = {
        name: extra['archive_policy_name']
        for name, extra in backup.metrics.items()
    }
    for meter, method in (('backup.idle', 'max'), ('backup.status', 'last')):
        (own,) = [p for p in policies if p['name'] == policy_of[meter]]
        assert own['aggregation_methods'] == ['mean', method]
        assert own['definition'] == [
            {'granularity': '5 minutes', 'timespan': '30 days'}
        ]
    assert policy_of['backup.progress'] == 'ceilometer-low'
    assert (
        backup.event_match('backup.delete.end')
        == gnocchi_publisher.EVENT_DELETE
    )
    assert backup.event_match('backup.create.end') is None
    sample = Sample(
        name='backup.size',
        type='gauge',
        unit='GiB',
        volume=1,
        user_id='u',
        project_id='p',
        resource_id='b',
        resource_metadata={
            'display_name': 'n',
            'volume_id': '00000000-0000-0000-0000-000000000001',
            'is_incremental': True,
            'host': 'h',
        },
    )
    assert backup.sample_attributes(sample) == {
        'display_name': 'n',
        'volume_id': '00000000-0000-0000-0000-000000000001',
        'is_incremental': True,
        'host': 'h',
    }


def test_a_back_window_covers_the_outage_the_senders_wait_and_a_block():
    low, high = (
        p
        for p in _stock('gnocchi_resources.yaml')['archive_policies']
        if p['name'] in ('ceilometer-low', 'ceilometer-high')
    )
    # 61 minutes in 5-minute blocks, and one.
    assert schema.back_window(low, 3600) == 14
    # Blocks of the largest granularity: an hour.
    assert schema.back_window(high, 3600) == 3
    # 80 s in 5-second blocks, and one.
    assert schema.back_window({'definition': [{'granularity': 5}]}, 20) == 17


def test_with_an_outage_every_backup_meter_has_a_back_window(tmp_path):
    merged = schema.gnocchi_resources(_stock('gnocchi_resources.yaml'), 60)
    assert schema.gnocchi_resources(merged, 60) == merged
    path = tmp_path / 'gnocchi_resources.yaml'
    path.write_text(yaml.safe_dump(merged))
    load = gnocchi_publisher.GnocchiPublisher._load_definitions
    definitions, policies = load(config.ceilometer_conf(), None, str(path))
    (backup,) = [
        d for d in definitions if d.cfg['resource_type'] == 'volume_backup'
    ]
    by_name = {p['name']: p for p in policies}
    for name, extra in backup.metrics.items():
        policy = by_name[extra['archive_policy_name']]
        assert policy['back_window'] == 14, name
        # The granularity the alarms and the rating read stays.
        assert policy['definition'] == [
            {'granularity': '5 minutes', 'timespan': '30 days'}
        ]
    idle = by_name[backup.metrics['backup.idle']['archive_policy_name']]
    assert 'max' in idle['aggregation_methods']
    # Other resource types keep theirs.
    (volume,) = [d for d in definitions if d.cfg['resource_type'] == 'volume']
    assert volume.metrics['volume.size']['archive_policy_name'] == (
        'ceilometer-low'
    )


def test_another_outage_replaces_its_policies_in_place():
    first = schema.gnocchi_resources(_stock('gnocchi_resources.yaml'), 60)
    second = schema.gnocchi_resources(first, 180)
    names = [p['name'] for p in first['archive_policies']]
    assert [p['name'] for p in second['archive_policies']] == names
    by_name = {p['name']: p for p in second['archive_policies']}
    # 181 minutes in 5-minute blocks (36.2), and one.
    for name in OURS:
        assert by_name[name]['back_window'] == 38, name
    assert schema.gnocchi_resources(second, 60) == first


def test_a_default_policy_it_cannot_read_is_refused():
    stock = dict(
        _stock('gnocchi_resources.yaml'), archive_policy_default='gold'
    )
    with pytest.raises(ValueError, match='gold is not defined'):
        schema.gnocchi_resources(stock, 60)
    with pytest.raises(ValueError, match='not a granularity'):
        schema.back_window({'definition': [{'granularity': 'soon'}]}, 60)
    with pytest.raises(ValueError, match='no granularity'):
        schema.back_window({'definition': [{'timespan': '1 day'}]}, 60)


def test_a_granularity_as_gnocchi_takes_it():
    for written in ('5 minutes', '5min', '5m', '300', '300s', '300.0'):
        policy = {'definition': [{'granularity': written}]}
        assert schema.back_window(policy, 3600) == 14, written
    # As points over a timespan: 288 points a day, 5 minutes each.
    policy = {'definition': [{'points': 288, 'timespan': '1 day'}]}
    assert schema.back_window(policy, 3600) == 14
    # A policy's own larger back window stays.
    wide = dict(
        _stock('gnocchi_resources.yaml'), archive_policy_default='wide'
    )
    wide['archive_policies'] = [
        {'name': 'wide', 'back_window': 20, 'aggregation_methods': ['mean'],
         'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}]},
    ]  # fmt: skip
    merged = schema.gnocchi_resources(wide, 60)
    (mapping,) = [
        r for r in merged['resources'] if r['resource_type'] == 'volume_backup'
    ]
    assert mapping['metrics']['backup.size'] == {
        'archive_policy_name': 'wide-back-window'
    }


def test_policies_made_then_set_in_place_or_a_refusal_said():
    client = FakeGnocchi()
    stock = _stock('gnocchi_resources.yaml')
    hour = schema.archive_policies(stock, 60)
    assert schema.upgrade_archive_policies(client, hour) == [
        f'created archive policy {name} (back window 14)' for name in OURS
    ]
    assert schema.upgrade_archive_policies(client, hour) == []
    # Without the admin role, Gnocchi refuses each change: said, and
    # upgrade goes on.
    client.archive_policy.fail_update = gnocchi_exc.Forbidden(403)
    refused = schema.upgrade_archive_policies(
        client, schema.archive_policies(stock, 180)
    )
    assert [line.split(' refused: ')[0] for line in refused] == [
        f'archive policy {name}: back window 14 -> 38' for name in OURS
    ]
    assert 'only the admin role' in refused[0]
    client.archive_policy.fail_update = None
    assert schema.upgrade_archive_policies(
        client, schema.archive_policies(stock, 180)
    ) == [f'archive policy {name}: back window 14 -> 38' for name in OURS]
    # The window changes, the definition stays.
    (low,) = [p for p in _stock('gnocchi_resources.yaml')['archive_policies']
              if p['name'] == 'ceilometer-low']  # fmt: skip
    changed = client.archive_policy.get('ceilometer-low-back-window')
    assert changed['definition'] == low['definition']


def test_resource_type_created_then_nothing_to_do():
    client = FakeGnocchi()
    assert schema.upgrade_resource_type(client) == [
        'created resource type volume_backup'
    ]
    assert schema.upgrade_resource_type(client) == []
    assert client.calls == [('create', 'volume_backup')]
    assert client.types['volume_backup']['attributes'] == schema.ATTRIBUTES


def test_attribute_added_later_is_added_in_place():
    older = {k: v for k, v in schema.ATTRIBUTES.items() if k != 'parent_id'}
    client = FakeGnocchi(
        resource_types={'volume_backup': {'attributes': dict(older)}}
    )
    assert schema.upgrade_resource_type(client) == [
        'added parent_id to resource type volume_backup'
    ]
    assert client.calls == [('update', ['/attributes/parent_id'])]
