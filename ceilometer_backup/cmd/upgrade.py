"""``ceilometer-backup upgrade``: Gnocchi's resource type and deploy files.

Run it where ``ceilometer-upgrade`` runs, with the same configuration:
it creates (or completes) the ``volume_backup`` resource type and the
backup meters' archive policies (or sets their back window for the
configured outage) through gnocchiclient with Ceilometer's credentials,
and writes the config files that route every backup meter there. Running
it again changes nothing and says so.
"""

import os
import sys

from ceilometer import service

from ceilometer_backup.cmd import gnocchi
from ceilometer_backup.meter.gnocchi import schema


def add_arguments(parser):
    parser.add_argument(
        '--config-file',
        action='append',
        default=[],
        help='Ceilometer configuration ([service_credentials], [gnocchi]); '
        'may be given several times.',
    )
    parser.add_argument(
        '--output-dir',
        help='Write gnocchi_resources.yaml, pipeline.yaml, '
        'event_definitions.yaml, event_pipeline.yaml, meters.d/backup.yaml '
        'and the polling source here (e.g. /etc/ceilometer), each built '
        'on the one in use. Without it, no file is written.',
    )


def run(args, out=None):
    out = out or sys.stdout
    conf = service.prepare_service([], args.config_file)
    policies = gnocchi.archive_policies(conf)
    with gnocchi.client(conf) as client:
        changes = schema.upgrade_resource_type(client)
        changes += schema.upgrade_archive_policies(client, policies)
    if args.output_dir:
        written = gnocchi.write_files(
            gnocchi.deploy_files(conf), args.output_dir
        )
        changes += [f'wrote {args.output_dir}/{path}' for path in written]
        if os.path.basename(conf.pipeline_cfg_file) in written:
            changes += [
                f"{gnocchi.BACKUP_SINK} leaves out the Gnocchi sink's "
                f'{gnocchi.POLICY_OVERRIDE}={name}: the backup meters are '
                f'on the archive policies of the {schema.RESOURCE_TYPE} '
                'mapping'
                for name in gnocchi.policy_overrides(conf)
            ]
    for change in changes:
        print(change, file=out)
    if not changes:
        print(
            f'Nothing to change: resource type {schema.RESOURCE_TYPE}, '
            'the archive policies and the config files are up to date.',
            file=out,
        )
    return 0
