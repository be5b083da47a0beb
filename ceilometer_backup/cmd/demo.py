"""``ceilometer-backup demo``: simulated backups metered end to end.

A full backup of a volume and an incremental one (with progress), a
restore, deletes and a failed create go through the real emitter, a real
oslo.messaging transport (by default the in-process ``fake://`` one, so
no server is needed), a real batch notification listener on the
``cinder`` exchange, and the ``backup`` endpoint loaded through its entry
point as ceilometer-agent-notification loads it, publishing through
Ceilometer's real sample pipeline. The samples that come out are printed
as a table, then the two backups' sizes side by side: the volume's GiB
Cinder bills, the volume bytes each carries, and the bytes each stores.
The pieces are ``ceilometer_backup/demo/``'s.
"""

import os
import sys
import tempfile

from ceilometer import service as ceilometer_service

from ceilometer_backup.demo.agent import InProcessAgent, pipeline_yaml
from ceilometer_backup.demo.report import (
    ProgressBar,
    print_sizes,
    print_table,
)
from ceilometer_backup.demo.simulation import DEMO_HOST, simulate
from ceilometer_backup.emitter.notification import (
    BackupNotifier,
    standalone_conf,
)


def add_arguments(parser):
    parser.add_argument(
        '--transport-url',
        default='fake://',
        help='oslo.messaging transport to send over (default: in-process, '
        'no server). For example rabbit://guest:guest@127.0.0.1:5672/',
    )
    parser.add_argument(
        '--size-gib', type=int, default=2, help='Simulated volume size.'
    )
    parser.add_argument(
        '--objects-per-notification',
        type=int,
        default=4,
        help='Progress notification every this many 64 MiB objects.',
    )
    parser.add_argument(
        '--seconds-per-object',
        type=float,
        default=0.02,
        help='Simulated transfer time of one object.',
    )


def run(args, out=None):
    out = out or sys.stdout
    # The Cinder side, as a cinder-backup service would configure it.
    notifier = BackupNotifier.from_config(
        standalone_conf(
            args.transport_url,
            progress_every_objects=args.objects_per_notification,
        ),
        host=DEMO_HOST,
    )
    with tempfile.TemporaryDirectory() as tmp:
        pipeline_file = os.path.join(tmp, 'pipeline.yaml')
        with open(pipeline_file, 'w') as f:
            # Ceilometer's in-memory publisher: the samples are read there.
            f.write(pipeline_yaml(['test://']))
        conf = ceilometer_service.prepare_service([], [])
        conf.set_override('pipeline_cfg_file', pipeline_file)
        agent = InProcessAgent(conf)
        with agent.listening(args.transport_url):
            store_path = os.path.join(tmp, 'backups')
            os.mkdir(store_path)
            simulate(notifier, args, ProgressBar(agent, out), store_path)
            agent.wait_quiet()
    print_table(agent.published, out)
    print(f'{len(agent.published)} samples', file=out)
    print_sizes(agent.published, out)
    return 0
