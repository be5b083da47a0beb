"""The config files that route backups to Gnocchi, and one line for an
operator when Gnocchi cannot be used. What a backup is in Gnocchi is
``meter/gnocchi/schema.py``'s.

The deploy files are built on the ones the deployment uses now (found as
Ceilometer finds them, else its packaged defaults), replacing only what
concerns backups, so nobody merges YAML by hand, an operator's own
entries stay, and building them twice gives the same bytes.
"""

import contextlib
import copy
import fnmatch
import os
from urllib import parse as urlparse

import ceilometer
import yaml
from ceilometer import declarative, gnocchi_client
from ceilometer.agent import Source
from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc

from ceilometer_backup import contract as c
from ceilometer_backup import opts
from ceilometer_backup.cmd import CommandFailed, files
from ceilometer_backup.meter import meters, tls
from ceilometer_backup.meter.gnocchi import schema

# The ceilometer.sample.publisher of
# ceilometer_backup.meter.gnocchi.publisher.
PUBLISHER = 'backup-gnocchi'

# Events of the outcome of every operation, with the traits an alarm
# filters on (Aodh matches event alarms on event type and traits, per
# project); resource_id is what ends a resource in Gnocchi.
OUTCOME_EVENTS = [
    c.event_type(op, phase)
    for op in c.OPERATIONS
    for phase in (c.END, c.ERROR)
]
EVENT_DEFINITION = {
    'event_type': OUTCOME_EVENTS,
    'traits': {
        'resource_id': {'fields': 'payload.backup_id'},
        'backup_id': {'fields': 'payload.backup_id'},
        'volume_id': {'fields': 'payload.volume_id'},
        'project_id': {'fields': 'payload.tenant_id'},
        'user_id': {'fields': 'payload.user_id'},
        'display_name': {'fields': 'payload.display_name'},
        'status': {'fields': 'payload.status'},
        'fail_reason': {'fields': 'payload.fail_reason'},
        'duration': {'type': 'float', 'fields': 'payload.duration'},
    },
}

# What earlier versions added to the event pipeline (event_pipeline).
EVENT_SOURCE = 'backup_event_source'
EVENT_SINK = 'backup_gnocchi_sink'
# The sample pipeline's source and sink of every backup meter.
BACKUP_SOURCE = 'backup_meter_source'
BACKUP_SINK = 'backup_meter_sink'
BACKUP_METERS = ('backup', 'backup.*')
# Polled for the Prometheus exporter only (meter/spool_pollster.py): out
# of the sources that feed Gnocchi, which has no resource for it.
UNPUBLISHED = (meters.SPOOL.name,)
_BACKUP_NAMES = [m.name for m in meters.METERS]


_CEILOMETER = os.path.dirname(ceilometer.__file__)
STOCK_FILES = {
    'gnocchi_resources.yaml': os.path.join(
        _CEILOMETER, 'publisher', 'data', 'gnocchi_resources.yaml'
    ),
    'event_definitions.yaml': os.path.join(
        _CEILOMETER, 'pipeline', 'data', 'event_definitions.yaml'
    ),
    'event_pipeline.yaml': os.path.join(
        _CEILOMETER, 'pipeline', 'data', 'event_pipeline.yaml'
    ),
    'pipeline.yaml': os.path.join(
        _CEILOMETER, 'pipeline', 'data', 'pipeline.yaml'
    ),
}


def event_definitions(stock):
    """Stock event definitions plus this project's, in place of any other
    definition of the same events."""
    kept = [
        d
        for d in stock
        if not set(OUTCOME_EVENTS) & set(_as_list(d['event_type']))
    ]
    return kept + [copy.deepcopy(EVENT_DEFINITION)]


def event_pipeline(stock):
    """The event pipeline without the Gnocchi event sink for backup
    deletions that earlier versions added: ``backup-gnocchi://``, which
    publishes every backup meter (``sample_pipeline``), ends deleted
    backups' resources itself, in the path that retries what Gnocchi
    could not take (upstream's event publisher logs a traceback and
    drops)."""
    merged = copy.deepcopy(stock)
    merged['sources'] = [
        s for s in merged['sources'] if s['name'] != EVENT_SOURCE
    ]
    merged['sinks'] = [s for s in merged['sinks'] if s['name'] != EVENT_SINK]
    return merged


def _carries_backup_meters(meters_of_source):
    """Whether a source's ``meters`` take any backup meter, as Ceilometer
    matches them."""
    return any(
        Source.is_supported(meters_of_source, name) for name in _BACKUP_NAMES
    )


# The Gnocchi publisher's option that puts every metric it creates on one
# policy, whatever the mapping says: the backup meters' back window and
# backup.idle's max and backup.status's last would be lost.
POLICY_OVERRIDE = 'archive_policy'


def _query(publisher):
    return urlparse.parse_qsl(
        urlparse.urlsplit(publisher).query, keep_blank_values=True
    )


def _ours(publisher):
    """``publisher`` as the backup sink's: ``backup-gnocchi://``, without
    POLICY_OVERRIDE, its other options kept."""
    scheme, sep, rest = publisher.partition('://')
    if not sep or scheme not in ('gnocchi', PUBLISHER):
        return publisher
    base, _, query = f'{PUBLISHER}://{rest}'.partition('?')
    # The options as the operator spelled them, but that one.
    kept = '&'.join(
        option
        for option in query.split('&')
        if option and option.split('=', 1)[0] != POLICY_OVERRIDE
    )
    return base + (f'?{kept}' if kept else '')


def routes_backup_meters(conf):
    """Whether a source of the sample pipeline in use sends backup meters
    to a sink publishing to ``backup-gnocchi://``."""
    pipeline = _pipeline_in_use(conf)
    ours = {
        sink['name']
        for sink in pipeline.get('sinks', [])
        if any(
            scheme == PUBLISHER for scheme, _ in _gnocchi_publishers([sink])
        )
    }
    return any(
        ours & set(source.get('sinks', []))
        and _carries_backup_meters(source.get('meters', []))
        for source in pipeline.get('sources', [])
    )


def policy_overrides(conf):
    """The POLICY_OVERRIDE values of the Gnocchi publishers of the sample
    pipeline in use, which the backup sink leaves out."""
    pipeline = _pipeline_in_use(conf)
    return sorted(
        {
            value
            for _, publisher in _gnocchi_publishers(pipeline.get('sinks', []))
            for key, value in _query(publisher)
            if key == POLICY_OVERRIDE
        }
    )


def sample_pipeline(stock):
    """The sample pipeline with the backup meters in a source of their own
    (BACKUP_SOURCE), out of every other source feeding Gnocchi, so each
    backup sample reaches Gnocchi once, through ``backup-gnocchi://``
    with the options of the Gnocchi sink that took them (one already on
    ``backup-gnocchi://`` first), beside that sink's other publishers and
    the other sinks of the sources that took them. Other meters keep their
    way. A pipeline without a Gnocchi publisher is left as it is; a source
    whose patterns take backup meters among others it cannot give up
    (``*.size``) is refused: CommandFailed."""
    merged = copy.deepcopy(stock)
    # What an earlier run made is taken again as it is.
    ours = _pop(merged['sources'], BACKUP_SOURCE)
    our_sink = _pop(merged['sinks'], BACKUP_SINK)
    to_gnocchi = {
        sink['name']: sink
        for sink in merged['sinks']
        if any(_gnocchi_publishers([sink]))
    }
    took = []
    other_sinks = [
        n for n in (ours or {}).get('sinks', []) if n != BACKUP_SINK
    ]
    for source in merged['sources']:
        patterns = source.get('meters', [])
        sinks = source.get('sinks', [])
        if not (to_gnocchi.keys() & set(sinks)) or not _carries_backup_meters(
            patterns
        ):
            continue
        took += [n for n in sinks if n in to_gnocchi and n not in took]
        other_sinks += [
            n for n in sinks if n not in to_gnocchi and n not in other_sinks
        ]
        if all(m == '*' or m.startswith('!') for m in patterns):
            patterns = patterns + [
                f'!{m}'
                for m in (*BACKUP_METERS, *UNPUBLISHED)
                if f'!{m}' not in patterns
            ]
        else:
            patterns = [
                m
                for m in patterns
                if not any(fnmatch.fnmatch(m, b) for b in BACKUP_METERS)
            ]
        if patterns and _carries_backup_meters(patterns):
            raise CommandFailed(
                f'source {source["name"]} of the sample pipeline takes '
                f'backup meters through {patterns}: name the meters it '
                'needs, or write it as "*" with exclusions, so that backup '
                'meters can be routed to Gnocchi once'
            )
        source['meters'] = patterns
    merged['sources'] = [s for s in merged['sources'] if s.get('meters')]
    if our_sink is not None:
        publishers = our_sink['publishers']
    elif took:
        already = [
            name
            for name in took
            if any(
                scheme == PUBLISHER
                for scheme, _ in _gnocchi_publishers([to_gnocchi[name]])
            )
        ]
        publishers = to_gnocchi[(already or took)[0]]['publishers']
    else:
        return merged
    merged['sources'].append(
        {
            'name': BACKUP_SOURCE,
            'meters': list(BACKUP_METERS),
            'sinks': [BACKUP_SINK, *other_sinks],
        }
    )
    merged['sinks'].append(
        {'name': BACKUP_SINK, 'publishers': [_ours(p) for p in publishers]}
    )
    return merged


def _pop(items, name):
    """The item named ``name``, removed from ``items``; or None."""
    for index, item in enumerate(items):
        if item['name'] == name:
            return items.pop(index)
    return None


def _gnocchi_publishers(sinks):
    """(scheme, URL) of each Gnocchi publisher of ``sinks``."""
    for sink in sinks:
        for publisher in sink.get('publishers', []):
            scheme, sep, _ = publisher.partition('://')
            if sep and scheme in (PUBLISHER, 'gnocchi'):
                yield scheme, publisher


def resources_definition_file_of(pipeline):
    """The mapping file the sample pipeline's first Gnocchi publisher
    loads: its ``resources_definition_file`` option, or upstream's
    default."""
    default = 'gnocchi_resources.yaml'
    for _, publisher in _gnocchi_publishers(pipeline.get('sinks', [])):
        options = urlparse.parse_qs(urlparse.urlparse(publisher).query)
        return options.get('resources_definition_file', [default])[-1]
    return default


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _dump(data):
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def _current(conf, option_value, name):
    """A config file as Ceilometer loads it: the path, the config dirs,
    the package."""
    return declarative.load_definitions(
        conf, {}, option_value, STOCK_FILES[name]
    )


def _pipeline_in_use(conf):
    return _current(conf, conf.pipeline_cfg_file, 'pipeline.yaml')


def _resources_in_use(conf, pipeline=None):
    """(file name, content) of the mapping the deployment's Gnocchi
    publisher loads now."""
    if pipeline is None:
        pipeline = _pipeline_in_use(conf)
    resources_file = resources_definition_file_of(pipeline)
    return resources_file, _current(
        conf, resources_file, 'gnocchi_resources.yaml'
    )


def _backup_schema(build, conf, resources_file, resources):
    """``build(resources, outage_minutes)`` with the configured outage;
    CommandFailed naming the file when it has no default policy to add a
    back window to."""
    opts.register_publisher_opts(conf)
    try:
        return build(resources, conf[opts.PUBLISHER_GROUP].outage_minutes)
    except ValueError as exc:
        raise CommandFailed(
            f'{resources_file}: {exc}; define it there, or set '
            f'[{opts.PUBLISHER_GROUP}] outage_minutes = 0'
        ) from exc


def archive_policies(conf):
    """The archive policies of the backup meters, as ``deploy_files``
    maps them."""
    return _backup_schema(
        schema.archive_policies, conf, *_resources_in_use(conf)
    )


def deploy_files(conf):
    """{relative path: text} of every file an operator installs.

    Built on the files this deployment uses now (found as Ceilometer finds
    them), or on the installed Ceilometer's packaged defaults, and named
    as the deployment names them (the file name its option gives).
    """

    pipeline = sample_pipeline(_pipeline_in_use(conf))
    # The mapping in use, with the operator's own entries: only what
    # concerns backups is replaced.
    resources_file, resources = _resources_in_use(conf, pipeline)
    resources = _backup_schema(
        schema.gnocchi_resources, conf, resources_file, resources
    )
    with open(files.shipped_file('ceilometer/meters.d/backup.yaml')) as f:
        meter_definitions = f.read()
    with open(files.shipped_file('ceilometer/polling.yaml')) as f:
        polling = f.read()
    name = os.path.basename
    return {
        name(resources_file): _dump(resources),
        name(conf.event.definitions_cfg_file): _dump(
            event_definitions(
                _current(
                    conf,
                    conf.event.definitions_cfg_file,
                    'event_definitions.yaml',
                )
            )
        ),
        name(conf.event_pipeline_cfg_file): _dump(
            event_pipeline(
                _current(
                    conf, conf.event_pipeline_cfg_file, 'event_pipeline.yaml'
                )
            )
        ),
        name(conf.pipeline_cfg_file): _dump(pipeline),
        os.path.join('meters.d', 'backup.yaml'): meter_definitions,
        'polling.yaml.backup-sources': polling,
    }


def write_files(files, output_dir):
    """Write what differs; return the relative paths written."""
    written = []
    for relative, text in files.items():
        path = os.path.join(output_dir, relative)
        if os.path.exists(path):
            with open(path) as f:
                if f.read() == text:
                    continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        written.append(relative)
    return written


def explain(exc, conf):
    """One line for a failure to use Gnocchi, or None if it is not one."""
    section = conf.gnocchi.auth_section
    # Before ConnectFailure: keystoneauth's SSLError is one.
    failure = tls.tls_failure(exc, conf, 'gnocchi')
    if failure is not None:
        return str(failure)
    if isinstance(exc, ka_exc.Unauthorized | gnocchi_exc.Unauthorized):
        return (
            f'Gnocchi or Keystone refused the credentials of [{section}]: '
            f'{exc}'
        )
    if isinstance(
        exc,
        ka_exc.ConnectFailure
        | ka_exc.EndpointNotFound
        | gnocchi_exc.ConnectionFailure,
    ):
        return f'cannot reach Gnocchi: {exc}'
    if isinstance(exc, ka_exc.Forbidden | gnocchi_exc.Forbidden):
        return (
            f'Gnocchi or Keystone forbids the user of [{section}] this '
            f"request: {exc}. Gnocchi's default policy gives resource type "
            'changes, and updates of resources another project created, to '
            'the admin and service roles'
        )
    if isinstance(exc, ka_exc.ClientException | gnocchi_exc.ClientException):
        return f'Gnocchi refused the change: {exc}'
    return None


@contextlib.contextmanager
def client(conf):
    """gnocchiclient with Ceilometer's ``[gnocchi] auth_section``; a failure
    to use Gnocchi inside the block becomes one CommandFailed line."""
    try:
        yield gnocchi_client.get_gnocchiclient(conf)
    except Exception as exc:
        message = explain(exc, conf)
        if message is None:
            raise
        raise CommandFailed(message) from exc
