"""``ceilometer-backup reconcile``: end the resources of deleted backups.

Ceilometer's Gnocchi publisher drops what it cannot push and does not
retry, so a backup deleted while Gnocchi was down keeps an open resource:
its ``backup.delete.end`` event is gone. Sizes heal at the next polling
cycle; this heals ``ended_at``, by comparing Gnocchi's open backup
resources with what Cinder lists now.

Run it after a Gnocchi outage, or from cron, with the central agent's
configuration: Cinder is listed with ``[service_credentials]``, Gnocchi
reached with ``[gnocchi] auth_section``. A listing that cannot be the
whole cloud (credentials without ``admin``) ends nothing; nor does one
that would end more than ``--max-share`` of the open resources at once,
which is likelier a listing gone wrong than backups deleted unseen.
"""

import sys

from ceilometer import service
from oslo_utils import timeutils

from ceilometer_backup.cmd import CommandFailed, gnocchi
from ceilometer_backup.meter.cinder import CinderBackups
from ceilometer_backup.meter.gnocchi import schema
from ceilometer_backup.meter.gnocchi.stored import open_backup_resources

# --max-share does not stop a run ending this many resources or fewer.
SHARE_FLOOR = 10


def vanished(open_ids, live_ids):
    """The open resources whose backup is not in ``live_ids``."""
    return [i for i in open_ids if i not in live_ids]


def end(client, resource_ids, ended_at):
    for resource_id in resource_ids:
        client.resource.update(
            schema.RESOURCE_TYPE, resource_id, {'ended_at': ended_at}
        )


def add_arguments(parser):
    parser.add_argument(
        '--config-file',
        action='append',
        default=[],
        help='Ceilometer configuration; may be given several times.',
    )
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='Print the resources that would be ended; end nothing.',
    )
    parser.add_argument(
        '--max-share',
        type=float,
        default=0.5,
        help='End nothing when more than this share of the open backup '
        f'resources (and more than {SHARE_FLOOR}) would end at once; 1 '
        'lets any share end.',
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
        open_ids = [r['id'] for r in open_backup_resources(client)]
        gone = vanished(open_ids, live)
        if not args.dry_run and len(gone) > max(
            SHARE_FLOOR, args.max_share * len(open_ids)
        ):
            raise CommandFailed(
                f'{len(gone)} of {len(open_ids)} open backup resources are '
                f"not in Cinder's listing of {len(live)} backups, more than "
                f'--max-share {args.max_share}: nothing ended. See them with '
                '--dry-run; end them with --max-share 1 if Cinder lists '
                'every backup'
            )
        if not args.dry_run:
            end(client, gone, timeutils.utcnow().isoformat())
    verb = 'would end' if args.dry_run else 'ended'
    for resource_id in gone:
        print(f'{verb} {resource_id}', file=out)
    print(
        f'{len(gone)} backup resource(s) {verb}; {len(live)} backups in '
        'Cinder',
        file=out,
    )
    return 0
