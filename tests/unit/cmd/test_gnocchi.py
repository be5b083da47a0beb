import copy

import pytest
import yaml
from ceilometer.pipeline.sample import SampleSource

from ceilometer_backup.cmd import CommandFailed, gnocchi
from ceilometer_backup.meter import meters
from tests.support import config


def _stock(name):
    with open(gnocchi.STOCK_FILES[name]) as f:
        return yaml.safe_load(f)


def _resource_types_of(mapping):
    found = {}
    for resource in mapping['resources']:
        for metric in resource['metrics']:
            found.setdefault(metric, []).append(resource['resource_type'])
    return found


def test_event_definition_and_pipeline_are_added_once():
    definitions = gnocchi.event_definitions(_stock('event_definitions.yaml'))
    assert gnocchi.event_definitions(definitions) == definitions
    (mine,) = [
        d for d in definitions if 'backup.delete.end' in d['event_type']
    ]
    assert mine['traits']['resource_id'] == {'fields': 'payload.backup_id'}
    # What an alarm filters on, for the outcome of every operation.
    assert set(mine['event_type']) == {
        f'backup.{op}.{phase}'
        for op in ('create', 'restore', 'delete')
        for phase in ('end', 'error')
    }
    for trait in ('backup_id', 'volume_id', 'fail_reason', 'status'):
        assert mine['traits'][trait] == {'fields': f'payload.{trait}'}
    assert mine['traits']['project_id'] == {'fields': 'payload.tenant_id'}
    # The event pipeline is stock's, without the Gnocchi event sink that
    # earlier versions added (backup-gnocchi:// ends resources itself).
    stock = _stock('event_pipeline.yaml')
    assert gnocchi.event_pipeline(stock) == stock
    earlier = copy.deepcopy(stock)
    earlier['sources'].append(
        {
            'name': 'backup_event_source',
            'events': ['backup.delete.end'],
            'sinks': ['backup_gnocchi_sink'],
        }
    )
    earlier['sinks'].append(
        {'name': 'backup_gnocchi_sink', 'publishers': ['gnocchi://']}
    )
    assert gnocchi.event_pipeline(earlier) == stock


def _routes(pipeline, meter):
    """The publishers a meter reaches, one entry per time it reaches it,
    as Ceilometer's own sources (which check themselves) route it."""
    sinks = {s['name']: s['publishers'] for s in pipeline['sinks']}
    return sorted(
        publisher
        for source in pipeline['sources']
        if SampleSource(source).support_meter(meter)
        for sink in source['sinks']
        for publisher in sinks[sink]
    )


def test_each_backup_meter_reaches_gnocchi_once_others_as_before():
    stock = _stock('pipeline.yaml')
    stock['sinks'][0]['publishers'] = [
        'gnocchi://?archive_policy=low&filter_project=service',
        'prometheus://127.0.0.1:9091/metrics/job/ceilometer',
    ]
    pipeline = gnocchi.sample_pipeline(stock)
    for meter in [m.name for m in meters.METERS]:
        # Without archive_policy: it would put every backup metric on
        # "low", whatever the volume_backup mapping says.
        assert _routes(pipeline, meter) == [
            'backup-gnocchi://?filter_project=service',
            'prometheus://127.0.0.1:9091/metrics/job/ceilometer',
        ], meter
    for meter in ('volume.size', 'volume.backup.size', 'cpu'):
        assert _routes(pipeline, meter) == sorted(
            stock['sinks'][0]['publishers']
        ), meter
    # Stock's "*" took it to Gnocchi, which has no resource for a spool.
    assert _routes(stock, meters.SPOOL.name)
    assert _routes(pipeline, meters.SPOOL.name) == []
    assert gnocchi.sample_pipeline(pipeline) == pipeline


@pytest.mark.parametrize(
    'query, overrides',
    [('?archive_policy=low&filter_project=service', ['low']), ('', [])],
)
def test_the_policy_the_backup_sink_leaves_out_is_named(
    tmp_path, query, overrides
):
    stock = _stock('pipeline.yaml')
    stock['sinks'][0]['publishers'] = [f'gnocchi://{query}']
    path = tmp_path / 'pipeline.yaml'
    path.write_text(yaml.safe_dump(stock))
    conf = config.ceilometer_conf()
    conf.set_override('pipeline_cfg_file', str(path))
    assert gnocchi.policy_overrides(conf) == overrides


def test_sources_naming_backup_meters_give_them_up():
    stock = {
        'sources': [
            {'name': 'some', 'meters': ['backup.size', 'cpu'],
             'sinks': ['to_gnocchi']},
            {'name': 'only', 'meters': ['backup'], 'sinks': ['to_gnocchi']},
            {'name': 'files', 'meters': ['*'], 'sinks': ['to_file']},
        ],
        'sinks': [
            {'name': 'to_gnocchi', 'publishers': ['gnocchi://']},
            {'name': 'to_file', 'publishers': ['file:///tmp/x']},
        ],
    }  # fmt: skip
    pipeline = gnocchi.sample_pipeline(stock)
    assert [s['name'] for s in pipeline['sources']] == [
        'some',
        'files',
        'backup_meter_source',
    ]
    assert pipeline['sources'][0]['meters'] == ['cpu']
    assert _routes(pipeline, 'backup.size') == [
        'backup-gnocchi://',
        'file:///tmp/x',
    ]
    # Without Gnocchi in the pipeline, nothing to route.
    no_gnocchi = {'sources': stock['sources'][2:], 'sinks': stock['sinks'][1:]}
    assert gnocchi.sample_pipeline(no_gnocchi) == no_gnocchi


def test_deploy_files_are_written_once(tmp_path):
    conf = config.ceilometer_conf()
    files = gnocchi.deploy_files(conf)
    assert set(files) == {
        'gnocchi_resources.yaml',
        'event_definitions.yaml',
        'event_pipeline.yaml',
        'pipeline.yaml',
        'meters.d/backup.yaml',
        'polling.yaml.backup-sources',
    }
    assert gnocchi.write_files(files, tmp_path) == list(files)
    assert gnocchi.write_files(gnocchi.deploy_files(conf), tmp_path) == []


def _published_with(path, mapping):
    """Ceilometer's configuration, its pipeline publishing to Gnocchi with
    ``mapping`` written at ``path``."""
    path.write_text(yaml.safe_dump(mapping))
    pipeline = path.parent / 'pipeline.yaml'
    pipeline.write_text(
        yaml.safe_dump(
            {
                'sources': [],
                'sinks': [
                    {
                        'name': 'meter_sink',
                        'publishers': [
                            'backup-gnocchi://?archive_policy=low&'
                            f'resources_definition_file={path}'
                        ],
                    }
                ],
            }
        )
    )
    conf = config.ceilometer_conf()
    conf.set_override('pipeline_cfg_file', str(pipeline))
    return conf


def test_upgrade_keeps_the_operators_own_mapping_entries(tmp_path):
    """Built on the mapping the pipeline's publisher loads, not on the
    packaged one: only what concerns backups changes."""
    mapping = _stock('gnocchi_resources.yaml')
    mapping['archive_policies'].append(
        {'name': 'site-policy', 'aggregation_methods': ['max'],
         'back_window': 0, 'definition': [{'granularity': '1 hour'}]}
    )  # fmt: skip
    mapping['resources'].append(
        {'resource_type': 'appliance', 'metrics': {'appliance.load': None}}
    )
    volume = next(
        r for r in mapping['resources'] if r['resource_type'] == 'volume'
    )
    volume['metrics']['volume.site.iops'] = None
    path = tmp_path / 'site_resources.yaml'
    conf = _published_with(path, mapping)
    files = gnocchi.deploy_files(conf)
    # Named as the deployment names them, for the publisher to load.
    assert {'site_resources.yaml', 'pipeline.yaml'} <= set(files)
    assert 'gnocchi_resources.yaml' not in files
    upgraded = files['site_resources.yaml']
    merged = yaml.safe_load(upgraded)
    owners = _resource_types_of(merged)
    assert owners['appliance.load'] == ['appliance']
    assert owners['volume.site.iops'] == ['volume']
    assert owners['backup.size'] == ['volume_backup']
    assert 'site-policy' in {p['name'] for p in merged['archive_policies']}
    # Upgraded in place, a second upgrade changes nothing.
    path.write_text(upgraded)
    assert gnocchi.deploy_files(conf)['site_resources.yaml'] == upgraded
    assert gnocchi.resources_definition_file_of({'sinks': []}) == (
        'gnocchi_resources.yaml'
    )


def test_upgrade_names_the_file_whose_default_policy_it_cannot_extend(
    tmp_path,
):
    mapping = dict(
        _stock('gnocchi_resources.yaml'), archive_policy_default='gold'
    )
    path = tmp_path / 'site_resources.yaml'
    conf = _published_with(path, mapping)
    with pytest.raises(CommandFailed) as failed:
        gnocchi.deploy_files(conf)
    assert str(path) in str(failed.value)
    assert 'gold is not defined' in str(failed.value)
    assert 'outage_minutes = 0' in str(failed.value)
    # Without a back window, the policies stay as they are.
    conf.set_override('outage_minutes', 0, 'backup_gnocchi')
    merged = yaml.safe_load(gnocchi.deploy_files(conf)['site_resources.yaml'])
    assert not [p for p in merged['archive_policies'] if p['back_window']]


def _source(name, meters, *sinks):
    return {'name': name, 'meters': meters, 'sinks': list(sinks)}


def test_a_pattern_that_takes_backup_meters_among_others_is_refused():
    stock = {
        'sources': [_source('sizes', ['*.size'], 'to_gnocchi')],
        'sinks': [{'name': 'to_gnocchi', 'publishers': ['gnocchi://']}],
    }
    with pytest.raises(CommandFailed, match='source sizes'):
        gnocchi.sample_pipeline(stock)


def test_backup_meters_keep_their_own_sinks_and_an_existing_backup_sink():
    stock = {
        'sources': [
            _source('cpu', ['cpu'], 'to_gnocchi', 'to_kafka'),
            _source('all', ['*', '!cpu'], 'to_gnocchi'),
            _source('mine', ['backup', 'backup.*'], 'mine', 'to_file'),
        ],
        'sinks': [
            {'name': 'to_gnocchi', 'publishers': ['gnocchi://?a=1']},
            {'name': 'to_kafka', 'publishers': ['kafka://k']},
            {
                'name': 'mine',
                'publishers': ['backup-gnocchi://?a=2', 'prometheus://p'],
            },
            {'name': 'to_file', 'publishers': ['file:///f']},
        ],
    }
    pipeline = gnocchi.sample_pipeline(stock)
    for meter in ('backup', 'backup.size', 'backup.stored.size'):
        assert _routes(pipeline, meter) == [
            'backup-gnocchi://?a=2',
            'file:///f',
            'prometheus://p',
        ], meter
    assert _routes(pipeline, 'cpu') == ['gnocchi://?a=1', 'kafka://k']
    # Again, from what it wrote: the same.
    assert gnocchi.sample_pipeline(pipeline) == pipeline
