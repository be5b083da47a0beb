"""``ceilometer-backup reconcile``: end the resources of deleted backups.

Run it after a Gnocchi outage, or from cron, with the central agent's
configuration: Cinder is listed with ``[service_credentials]``, Gnocchi
reached with ``[gnocchi] auth_section``.
"""

import sys

from ceilometer import gnocchi_client, service
from oslo_utils import timeutils

from ceilometer_backup import reconcile
from ceilometer_backup.cmd import gnocchi_errors
from ceilometer_backup.meter.discovery import CinderBackups


def add_parser(commands):
    parser = commands.add_parser(
        'reconcile',
        help='Set ended_at on the Gnocchi resources of backups that Cinder '
        'no longer lists (their deletion was not recorded).',
    )
    parser.add_argument(
        '--config-file',
        action='append',
        default=[],
        help='Ceilometer configuration; may be given several times.',
    )
    parser.set_defaults(func=run)


def run(args, out=None):
    out = out or sys.stdout
    conf = service.prepare_service([], args.config_file)
    try:
        live = {record.id for record in CinderBackups(conf).records()}
    except Exception as exc:
        # Never end anything on an incomplete list.
        return gnocchi_errors.fail(
            'reconcile', f'could not list Cinder backups, nothing ended: {exc}'
        )
    try:
        client = gnocchi_client.get_gnocchiclient(conf)
        ended = reconcile.end_vanished(
            client, live, timeutils.utcnow().isoformat()
        )
    except Exception as exc:
        message = gnocchi_errors.explain(exc, conf)
        if message is None:
            raise
        return gnocchi_errors.fail('reconcile', message)
    for resource_id in ended:
        print(f'ended {resource_id}', file=out)
    print(
        f'{len(ended)} backup resource(s) ended; {len(live)} backups in '
        'Cinder',
        file=out,
    )
    return 0
