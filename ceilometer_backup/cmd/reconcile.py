"""``ceilometer-backup reconcile``: end the resources of deleted backups.

Ceilometer's Gnocchi publisher drops what it cannot push and does not
retry, so a backup deleted while Gnocchi was down keeps an open resource:
its ``backup.delete.end`` event is gone. Sizes heal at the next polling
cycle; this heals ``ended_at``, by comparing Gnocchi's open backup
resources with what Cinder lists now.

Run it after a Gnocchi outage, or from cron, with the central agent's
configuration: Cinder is listed with ``[service_credentials]``, Gnocchi
reached with ``[gnocchi] auth_section``.
"""

import sys

from ceilometer import service
from oslo_utils import timeutils

from ceilometer_backup.cmd import CommandFailed, gnocchi
from ceilometer_backup.meter.cinder import CinderBackups

PAGE = 1000


def open_backup_resources(client):
    """Ids of every volume_backup resource without ended_at, paged."""
    marker = None
    while True:
        page = client.resource.search(
            resource_type=gnocchi.RESOURCE_TYPE,
            query={'=': {'ended_at': None}},
            sorts=['id:asc'],
            limit=PAGE,
            marker=marker,
        )
        for resource in page:
            yield resource['id']
        if len(page) < PAGE:
            return
        marker = page[-1]['id']


def end_vanished(client, live_ids, ended_at):
    """End the open resources whose backup is not in ``live_ids``."""
    ended = [
        resource_id
        for resource_id in open_backup_resources(client)
        if resource_id not in live_ids
    ]
    for resource_id in ended:
        client.resource.update(
            gnocchi.RESOURCE_TYPE, resource_id, {'ended_at': ended_at}
        )
    return ended


def add_arguments(parser):
    parser.add_argument(
        '--config-file',
        action='append',
        default=[],
        help='Ceilometer configuration; may be given several times.',
    )


def run(args, out=None):
    out = out or sys.stdout
    conf = service.prepare_service([], args.config_file)
    try:
        live = {record.id for record in CinderBackups(conf).records()}
    except Exception as exc:
        # Never end anything on an incomplete list.
        raise CommandFailed(
            f'could not list Cinder backups, nothing ended: {exc}'
        ) from exc
    with gnocchi.client(conf) as client:
        ended = end_vanished(client, live, timeutils.utcnow().isoformat())
    for resource_id in ended:
        print(f'ended {resource_id}', file=out)
    print(
        f'{len(ended)} backup resource(s) ended; {len(live)} backups in '
        'Cinder',
        file=out,
    )
    return 0
