"""CloudKitty's prices and scope state written, and its rated frames read
back, with its own Python DB and storage APIs; run with CloudKitty's
virtualenv's Python (``CloudKitty._rating``), which prints JSON::

    python cloudkitty_rating.py CONF COMMAND JSON
"""

import datetime
import decimal
import json
import sys

from oslo_config import cfg

cfg.CONF(['--config-file', sys.argv[1]], project='cloudkitty')

from cloudkitty import storage, storage_state  # noqa: E402
from cloudkitty.db import api as ck_db  # noqa: E402
from cloudkitty.rating.hash.db import api as hash_db  # noqa: E402

UTC = datetime.timezone.utc
# The API sets it to the user's id; the DB API requires it.
CREATED_BY = 'ceilometer-backup-tests'


def when(text):
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


def naive(text):
    return when(text).replace(tzinfo=None)


def prices(args):
    """Enable hashmap and create the prices, valid from args['start']."""
    ck_db.get_instance().get_module_info().set_state('hashmap', True)
    db = hash_db.get_instance()
    start = naive(args['start'])
    for name, service in args['services'].items():
        service_id = db.create_service(name).service_id
        for mapping in service.get('mappings', []):
            db.create_mapping(
                decimal.Decimal(mapping['cost']),
                map_type=mapping['type'],
                service_id=service_id,
                start=start,
                created_by=CREATED_BY,
            )
        for field, mappings in service.get('fields', {}).items():
            field_id = db.create_field(service_id, field).field_id
            for mapping in mappings:
                db.create_mapping(
                    decimal.Decimal(mapping['cost']),
                    map_type=mapping['type'],
                    value=mapping['value'],
                    field_id=field_id,
                    start=start,
                    created_by=CREATED_BY,
                )
    return {'enabled': True}


def seed(args):
    """The scopes, with the period before the first to rate as processed."""
    manager = storage_state.StateManager()
    for project in args['projects']:
        manager.set_last_processed_timestamp(
            project,
            when(args['last_processed']),
            fetcher='source',
            collector='gnocchi',
            scope_key='project_id',
        )
    return state(args)


def state(args):
    manager = storage_state.StateManager()
    out = {}
    for project in args['projects']:
        last = manager.get_last_processed_timestamp(project)
        out[project] = last.astimezone(UTC).isoformat() if last else None
    return out


def report(args):
    """Rated frames per project (storage.retrieve) and their totals per
    service (storage.total), as the v1 API's report would give them."""
    backend = storage.get_storage()
    begin, end = when(args['begin']), when(args['end'])
    frames, totals = [], {}
    for project in args['projects']:
        try:
            got = backend.retrieve(
                begin=begin,
                end=end,
                filters={'project_id': project},
                paginate=False,
            )['dataframes']
        except storage.NoTimeFrame:
            got = []
        for frame in got:
            for service, point in frame.iterpoints():
                frames.append(
                    {
                        'project_id': project,
                        'begin': frame.start.astimezone(UTC).isoformat(),
                        'end': frame.end.astimezone(UTC).isoformat(),
                        'service': service,
                        'unit': point.unit,
                        'qty': str(point.qty),
                        'price': str(point.price),
                        'desc': {**point.metadata, **point.groupby},
                    }
                )
        total = backend.total(
            begin=begin,
            end=end,
            filters={'project_id': project},
            groupby=['type'],
        )
        totals[project] = {
            row['res_type']: row['rate'] for row in total['results']
        }
    return {'frames': frames, 'totals': totals}


COMMANDS = {'prices': prices, 'seed': seed, 'state': state, 'report': report}
print(json.dumps(COMMANDS[sys.argv[2]](json.loads(sys.argv[3])), default=str))
