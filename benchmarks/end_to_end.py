"""Benchmark 4: notifications per second from a full queue, end to end.

A queue pre-filled through oslo.messaging (Cinder's envelope) with the mix
of ``common.backup_events`` is drained by a real
``ceilometer-agent-notification`` over a real RabbitMQ, into a real
Gnocchi 4.7.1 (uwsgi API and metricd, PostgreSQL 15, file storage) or into
a ``test://`` publisher, which isolates the agent. Stock is Ceilometer 27
alone, in a virtualenv without this plugin (Ceilometer loads every
``ceilometer.sample.endpoint`` installed) and with its packaged
definitions; the plugin runs as shipped (stock ``backup.size`` turned off,
the ``ceilometer-backup upgrade`` mapping).

Every run has backups of its own (a project of its own), so none meets
another's resources, and afterwards every sample that should be in
Gnocchi is counted there through an archive policy with the ``count``
aggregation. The clock runs while the queue falls from 90% to 10% full:
the steady state, clear of the agent's start and of the last partial
batches. CPU is read from /proc for each process tree over the same
window. Each run then waits for metricd to aggregate all it was sent, so
that none leaves work in the next one's window, and reports that wait
(the lag): Gnocchi accepts measures faster than metricd aggregates them,
and on a shared machine aggregation left for later is CPU the window did
not pay for. The report ends with the CPU per backup of the best run and
the ceiling it implies.

    .venv/bin/python -m benchmarks.end_to_end [--notifications N]
        [--only 'plugin gnocchi' --only ...]

needs what ``tools/bench.sh`` installs: rabbitmq-server, postgresql-15,
.venv-gnocchi, and the stock Ceilometer in .venv-stock (or STOCK_VENV).
"""

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
import uuid

import kombu
import oslo_messaging
import yaml
from ceilometer.meter.notifications import ProcessMeterNotifications

from benchmarks.common import (
    backup_events,
    describe_machine,
    wait_for_metricd,
)
from ceilometer_backup.cmd import gnocchi
from ceilometer_backup.meter.sample import BackupNotifications
from testcloud import servers
from testcloud.ceilometer_services import (
    OVERRIDE_METERS_DIR,
    STOCK_METERS_DIR,
    NotificationAgent,
    stock_ceilometer,
)
from testcloud.gnocchi import Gnocchi
from testcloud.postgresql import PostgreSQL
from testcloud.rabbitmq import RABBITMQCTL, RabbitMQ
from tests.support import config
from tests.support.config import cinder_conf
from tests.support.messages import notification

QUEUE = 'notifications.info'
ARCHIVE_POLICY = {
    'name': 'bench-count',
    # One point a day keeps every measure countable whatever order metricd
    # sees them in; a day of back window covers a run across midnight.
    'back_window': 1,
    'definition': [{'granularity': '1 day', 'points': 2}],
    'aggregation_methods': ['count'],
}
TICK = 0.02

Run = collections.namedtuple(
    'Run', 'agent publisher batch_size prefetch workers'
)
# Ceilometer's own default prefetch is 100; oslo.messaging never hands a
# batch more than the prefetch.
RUNS = (
    Run('stock', 'test', 1, 100, 1),
    Run('plugin', 'test', 1, 100, 1),
    Run('stock', 'test', 100, 100, 1),
    Run('plugin', 'test', 100, 100, 1),
    Run('stock', 'gnocchi', 1, 100, 1),
    Run('plugin', 'gnocchi', 1, 100, 1),
    Run('stock', 'gnocchi', 100, 100, 1),
    Run('plugin', 'gnocchi', 100, 100, 1),
    # Stock's other candidates for its best: serial (no racing creations
    # of one new resource), on one worker and on two.
    Run('stock', 'gnocchi', 1, 1, 1),
    Run('stock', 'gnocchi', 1, 1, 2),
    # Overlap: one batch in flight per worker at most, unless the prefetch
    # lets more batches in than the batch size.
    Run('plugin', 'gnocchi', 1000, 1000, 1),
    Run('plugin', 'gnocchi', 500, 2000, 2),
)


class Stack:
    """RabbitMQ, PostgreSQL and Gnocchi, set up once for every run."""

    def __init__(self, workdir):
        self.workdir = workdir
        os.makedirs(os.path.join(workdir, 'rabbitmq'))
        self.rabbitmq = RabbitMQ(os.path.join(workdir, 'rabbitmq'))
        self.database = PostgreSQL()
        self.gnocchi = Gnocchi(
            os.path.join(workdir, 'gnocchi'),
            self.database.database_url('gnocchi'),
        )
        self.etc = os.path.join(workdir, 'etc')

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self):
        self.rabbitmq.start()
        self.database.start()
        self.database.create_database('gnocchi')
        self.gnocchi.start()
        self.client = self.gnocchi.client()
        self.client.archive_policy.create(ARCHIVE_POLICY)
        conf = os.path.join(self.workdir, 'upgrade.conf')
        with open(conf, 'w') as f:
            f.write(self.gnocchi.credentials())
        servers.run(
            [
                servers.console_script('ceilometer-upgrade'),
                '--config-file',
                conf,
            ]
        )
        servers.run(
            [
                servers.console_script('ceilometer-backup'),
                'upgrade',
                '--config-file',
                conf,
                '--output-dir',
                self.etc,
            ]
        )

    def __exit__(self, *exc):
        self.gnocchi.stop()
        self.database.stop()
        self.rabbitmq.stop()

    def process_trees(self):
        with open(os.path.join(self.database.data, 'postmaster.pid')) as f:
            postgres = int(f.readline())
        api, metricd = self.gnocchi.api.pid, self.gnocchi.processes[0].pid
        return {
            'rabbitmq': self.rabbitmq.server.pid,
            'gnocchi-api': api,
            'gnocchi-metricd': metricd,
            'postgresql': postgres,
        }


def fill_queue(url, events):
    """Queue ``events`` as a Cinder backup service sends them."""
    transport = oslo_messaging.get_notification_transport(
        cinder_conf(url=url, driver='messagingv2')
    )
    notifier = oslo_messaging.Notifier(
        transport, publisher_id='backup.bench-host'
    )
    for event_type, payload in events:
        notifier.info({}, event_type, payload)
    transport.cleanup()


def all_messages(rabbitmq):
    """Ready and unacknowledged, which only rabbitmqctl tells."""
    out = subprocess.run(
        [
            RABBITMQCTL,
            '-n',
            rabbitmq.node,
            '-q',
            '--no-table-headers',
            'list_queues',
            'name',
            'messages',
        ],
        env=rabbitmq.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        name, _, count = line.partition('\t')
        if name == QUEUE:
            return int(count)
    raise RuntimeError(f'no queue {QUEUE}')


def expected_samples(agent, events, stack):
    """(resource type, meter) -> samples Gnocchi must hold: what the
    agent's own code builds from these messages, kept to the meters its
    Gnocchi mapping files; and how many metrics they make."""
    messages = [notification(t, p) for t, p in events]
    if agent == 'plugin':
        endpoint = BackupNotifications(None, None)
        samples = [s for m in messages for s in endpoint.build_sample(m)]
        mapping = os.path.join(stack.etc, 'gnocchi_resources.yaml')
    else:
        endpoint = ProcessMeterNotifications(
            config.ceilometer_conf(meter_dirs=[STOCK_METERS_DIR]),
            None,
        )
        samples = [s for m in messages for s in endpoint.build_sample(m)]
        mapping = gnocchi.STOCK_FILES['gnocchi_resources.yaml']
    with open(mapping) as f:
        resources = yaml.safe_load(f)['resources']
    types = {
        meter: r['resource_type']
        for r in resources
        for meter in r.get('metrics') or ()
    }
    kept = [s for s in samples if s.name in types]
    return (
        collections.Counter((types[s.name], s.name) for s in kept),
        len({(s.resource_id, s.name) for s in kept}),
    )


def counted_samples(client, project_id, wanted):
    """(resource type, meter) -> measures Gnocchi holds for the project."""
    counted = collections.Counter()
    for resource_type, meter in wanted:
        result = client.aggregates.fetch(
            f'(metric {meter} count)',
            resource_type=resource_type,
            search={'=': {'project_id': project_id}},
        )
        for metrics in result['measures'].values():
            for aggregations in metrics.values():
                for _, _, value in aggregations.get('count', ()):
                    counted[resource_type, meter] += int(value)
    return counted


Result = collections.namedtuple(
    'Result',
    'run notifications seconds cpu project expected'
    ' per_backup metrics_per_backup metricd_lag',
)


def measure(stack, run, notifications, workdir, stock_bindir):
    project = uuid.uuid4().hex
    backups = max(1, notifications * 10 // 134)
    events = backup_events(backups, project_id=project)
    fill_queue(stack.rabbitmq.url, events)
    plugin = run.agent == 'plugin'
    publisher = 'test://'
    if run.publisher == 'gnocchi':
        options = (
            'enable_filter_project=false'
            f'&archive_policy={ARCHIVE_POLICY["name"]}'
        )
        if plugin:
            publisher = (
                f'{gnocchi.PUBLISHER}://?{options}&resources_definition_file='
                f'{stack.etc}/gnocchi_resources.yaml'
            )
        else:
            publisher = f'gnocchi://?{options}'
    agent = NotificationAgent(
        workdir,
        stack.rabbitmq.url,
        publishers=[publisher],
        meters_dir=(OVERRIDE_METERS_DIR if plugin else STOCK_METERS_DIR),
        extra=stack.gnocchi.credentials()
        + '[oslo_messaging_rabbit]\n'
        + f'rabbit_qos_prefetch_count = {run.prefetch}\n',
        batch_size=run.batch_size,
        workers=run.workers,
        record=False,
        bindir=None if plugin else stock_bindir,
    )
    trees = stack.process_trees()
    with kombu.Connection(
        stack.rabbitmq.url.replace('rabbit://', 'amqp://')
    ) as conn:
        channel = conn.channel()

        def ready():
            return channel.queue_declare(QUEUE, passive=True)[1]

        agent.start()
        trees['agent'] = agent.process.pid
        try:
            # The steady state: from 90% to 10% of the queue left, clear
            # of the agent's start and of the last partial batches.
            marks = []
            for left in (0.9, 0.1):
                while ready() > left * len(events):
                    agent.check_alive()
                    time.sleep(TICK)
                cpu = servers.tree_cpu_seconds
                marks.append(
                    (
                        time.monotonic(),
                        {name: cpu(pid) for name, pid in trees.items()},
                    )
                )
            # Untimed: every message processed before the agent stops, and
            # every measure aggregated before the next run, so that no run
            # leaves metricd work in another's window. The lag says how
            # much of this run's aggregation came after its queue emptied.
            while all_messages(stack.rabbitmq):
                agent.check_alive()
            emptied = time.monotonic()
            wait_for_metricd(stack.client)
            lag = time.monotonic() - emptied
        finally:
            agent.stop()
    (started, cpu_before), (ended, cpu_after) = marks
    seconds = ended - started
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    expected, metrics = (
        expected_samples(run.agent, events, stack)
        if run.publisher == 'gnocchi'
        else (None, None)
    )
    return Result(
        run,
        round(0.8 * len(events)),
        seconds,
        cpu,
        project,
        expected,
        len(events) / backups,
        metrics / backups if metrics else None,
        lag,
    )


def label(run):
    return (
        f'{run.agent:6} {run.publisher:8} batch {run.batch_size:4} '
        f'prefetch {run.prefetch:4} workers {run.workers}'
    )


def report(results, client):
    cores = os.cpu_count()
    print(
        f'{"run":46} {"notif/s":>8} {"seconds":>8}  CPU in cores '
        f'(agent/api/metricd/postgres/rabbit)  in Gnocchi, metricd lag'
    )
    for r in results:
        cpu = '/'.join(
            f'{r.cpu[name] / r.seconds:.2f}'
            for name in (
                'agent',
                'gnocchi-api',
                'gnocchi-metricd',
                'postgresql',
                'rabbitmq',
            )
        )
        counted = ''
        if r.expected is not None:
            got = counted_samples(client, r.project, r.expected)
            counted = f'{sum(got.values())}/{sum(r.expected.values())}'
            if got != r.expected:
                counted += f' MISSING {dict(r.expected - got)}'
            counted += f', {r.metricd_lag:.0f} s'
        print(
            f'{label(r.run):46} {r.notifications / r.seconds:8.0f} '
            f'{r.seconds:8.1f}  {cpu:38}  {counted}'
        )
    best = {}
    for r in results:
        key = (r.run.agent, r.run.publisher)
        rate = r.notifications / r.seconds
        if rate > best.get(key, (0, None))[0]:
            best[key] = (rate, r)
    for publisher in ('test', 'gnocchi'):
        if ('plugin', publisher) not in best or (
            'stock',
            publisher,
        ) not in best:
            continue
        ours, stock = best[('plugin', publisher)], best[('stock', publisher)]
        print(
            f'ratio into {publisher}: plugin best {ours[0]:.0f}/s vs stock '
            f'best {stock[0]:.0f}/s = {ours[0] / stock[0]:.1f}x'
            + (' (target >= 10x)' if publisher == 'gnocchi' else '')
        )
    if ('plugin', 'gnocchi') not in best:
        return
    top = best[('plugin', 'gnocchi')][1]
    busiest = max(top.cpu, key=top.cpu.get)
    print(
        f'bottleneck of the best Gnocchi run: {busiest} at '
        f'{top.cpu[busiest] / top.seconds:.2f} of {cores} cores; all '
        f'processes {sum(top.cpu.values()) / top.seconds:.2f} cores'
    )
    ceiling(top, best, cores)


def ceiling(top, best, cores):
    """What the machine allows whatever the agent does: the CPU the best
    run spent per backup outside the agent, plus the agent's own floor
    (its CPU per notification into ``test://``: receiving and sampling
    only), on every core."""
    backups = top.notifications / top.per_backup
    print(
        f'CPU per backup ({top.per_backup:.1f} notifications, '
        f'{top.metrics_per_backup:.1f} new Gnocchi metrics) in the best '
        'Gnocchi run: '
        + ', '.join(
            f'{name} {cpu / backups * 1e3:.1f} ms'
            for name, cpu in top.cpu.items()
        )
    )
    if ('plugin', 'test') not in best or ('stock', 'gnocchi') not in best:
        return
    floor = best[('plugin', 'test')][1]
    agent = floor.cpu['agent'] / floor.notifications * top.per_backup
    rest = sum(cpu for name, cpu in top.cpu.items() if name != 'agent')
    limit = cores / (rest / backups + agent) * top.per_backup
    print(
        f'ceiling on {cores} cores with everything but the agent as in that '
        f'run and the agent at its test:// cost ({agent * 1e3:.1f} ms per '
        f'backup): {limit:.0f}/s = '
        f'{limit / best[("stock", "gnocchi")][0]:.1f}x stock best'
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--notifications', type=int, default=10000)
    parser.add_argument(
        '--only',
        action='append',
        help='run only the runs whose label contains this (repeatable)',
    )
    args = parser.parse_args(argv)
    print(f'# End to end ({describe_machine()})')
    runs = [
        r
        for r in RUNS
        if not args.only or any(only in label(r) for only in args.only)
    ]
    stock_bindir = stock_ceilometer()
    with tempfile.TemporaryDirectory(prefix='bench-e2e-') as workdir:
        with Stack(workdir) as stack:
            results = []
            for n, run in enumerate(runs):
                results.append(
                    measure(
                        stack,
                        run,
                        args.notifications,
                        os.path.join(workdir, f'agent-{n}'),
                        stock_bindir,
                    )
                )
                print(f'  measured {label(run)}', flush=True)
            report(results, stack.client)
    return 0


if __name__ == '__main__':
    sys.exit(main())
