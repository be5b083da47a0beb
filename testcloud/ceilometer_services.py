"""Real Ceilometer agents as processes the tests own.

Each gets a ceilometer.conf of its own in a work directory and logs to a
file there. The notification agent publishes to a JSON-lines file that the
test reads back.
"""

import importlib.metadata
import json
import os
import subprocess
import time

import ceilometer
import yaml

from ceilometer_backup.demo.agent import pipeline_yaml
from testcloud import servers
from testcloud.ground import ROOT

OVERRIDE_METERS_DIR = os.path.join(ROOT, 'etc', 'ceilometer', 'meters.d')
# Where the installed Ceilometer keeps its packaged meters.yaml.
STOCK_METERS_DIR = os.path.join(
    os.path.dirname(ceilometer.__file__), 'data', 'meters.d'
)


def stock_ceilometer():
    """The stock agent's bin directory (Ceilometer without this plugin,
    as after ``pip uninstall``), after checking it is stock."""
    stock = servers.VENVS['stock']
    bindir = os.path.join(stock, 'bin')
    if not os.path.exists(
        os.path.join(bindir, 'ceilometer-agent-notification')
    ):
        raise RuntimeError(
            f'no stock Ceilometer in {stock}: run tools/provision.sh'
        )
    probe = servers.run(
        [
            os.path.join(bindir, 'python'),
            # Isolated: not the checkout's egg-info, if any, from the cwd.
            '-I',
            os.path.join(servers.SCRIPTS, 'stock_ceilometer.py'),
        ]
    ).strip()
    mine = importlib.metadata.version('ceilometer')
    if probe != f'{mine} False':
        raise RuntimeError(
            f'{stock} must hold Ceilometer {mine} without this plugin, '
            f'it has {probe}'
        )
    return bindir


class _Agent(servers.Service):
    command = None

    def __init__(self, workdir, transport_url, sections, bindir=None, on=None):
        """``on``: the testcloud.hosts Host it runs on, if not this
        machine."""
        os.makedirs(workdir, exist_ok=True)
        self.on = on
        self.workdir = workdir
        self.log = os.path.join(workdir, 'agent.log')
        self.conf = os.path.join(workdir, 'ceilometer.conf')
        with open(self.conf, 'w') as f:
            f.write(
                f'[DEFAULT]\ntransport_url = {transport_url}\n'
                f'use_stderr = true\n{sections}'
            )
        self.process = None
        self.bindir = bindir

    def start(self):
        argv = [
            servers.console_script(self.command[0], self.bindir),
            *self.command[1:],
            '--config-file',
            self.conf,
        ]
        if self.on is not None:
            argv = self.on.command(argv)
        self.process = servers.start(argv, dict(os.environ), self.log)
        return self

    def stop(self):
        servers.stop(self.process, timeout=20)
        self.process = None

    def check_alive(self):
        if self.process.poll() is not None:
            raise RuntimeError(f'{self.command[0]} exited, see {self.log}')


class NotificationAgent(_Agent):
    """``ceilometer-agent-notification`` with this plugin installed."""

    command = ('ceilometer-agent-notification',)

    def __init__(
        self,
        workdir,
        transport_url,
        publishers=(),
        pipelines=('meter',),
        meters_dir=OVERRIDE_METERS_DIR,
        defaults='',
        extra='',
        batch_size=100,
        workers=1,
        record=True,
        bindir=None,
        host='functional-agent',
        on=None,
    ):
        """Publishes to ``publishers``, and unless ``record`` is false to
        ``samples.json`` in workdir. ``bindir`` holds the agent's console
        script when it is not this environment's (a stock Ceilometer);
        ``on``: the testcloud.hosts Host it runs on."""
        self.host = host
        self.samples_file = os.path.join(workdir, 'samples.json')
        # Where backup-gnocchi:// keeps what Gnocchi cannot take yet.
        self.spool_dir = os.path.join(workdir, 'spool')
        self.pipeline = os.path.join(workdir, 'pipeline.yaml')
        os.makedirs(workdir, exist_ok=True)
        if record:
            publishers = [f'file://{self.samples_file}?json', *publishers]
        with open(self.pipeline, 'w') as f:
            f.write(pipeline_yaml(publishers))
        super().__init__(
            workdir,
            transport_url,
            f"""pipeline_cfg_file = {self.pipeline}
host = {host}
{defaults}
[backup_gnocchi]
spool_dir = {self.spool_dir}
[notification]
workers = {workers}
batch_size = {batch_size}
batch_timeout = 1
{''.join(f'pipelines = {p}{chr(10)}' for p in pipelines)}
[meter]
meter_definitions_dirs = {meters_dir}
meter_definitions_dirs = {STOCK_METERS_DIR}
{extra}""",
            bindir,
            on,
        )

    def status(self):
        """``ceilometer-backup-status upgrade check --json`` run with this
        agent's configuration, as on its host: (exit status, {check:
        details}), the details of a check that found nothing amiss None."""
        done = subprocess.run(
            [
                servers.console_script('ceilometer-backup-status'),
                '--config-file', self.conf, 'upgrade', 'check', '--json',
            ],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        checks = json.loads(done.stdout)['checks']
        return done.returncode, {c['check']: c['details'] for c in checks}

    def samples(self):
        if not os.path.exists(self.samples_file):
            return []
        with open(self.samples_file) as f:
            # The agent may be halfway through a line: take whole ones.
            return [json.loads(line) for line in f if line.endswith('\n')]

    def distinct_samples(self, resource_ids):
        """(resource, meter) -> how many distinct samples the agent
        published of ``resource_ids`` (a message the broker delivers
        again is written again, with the same sample ids)."""
        return distinct_samples([self], resource_ids)

    def wait_for_meters(self, resource_ids, meters, timeout=90):
        """Wait until each resource has a sample of each meter."""
        wanted = set(resource_ids)

        def complete(samples):
            return all(
                wanted <= {s['resource_id'] for s in samples if s['name'] == m}
                for m in meters
            )

        return self.wait_for_samples(complete, timeout)

    def wait_for_samples(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            samples = self.samples()
            if predicate(samples):
                return samples
            time.sleep(0.2)
        raise TimeoutError(f'samples not published in time, see {self.log}')


class PollingAgent(_Agent):
    """``ceilometer-polling --polling-namespaces central``, this plugin's
    pollsters selected by the shipped polling.yaml at a short interval."""

    command = ('ceilometer-polling', '--polling-namespaces', 'central')

    def __init__(
        self, workdir, transport_url, credentials, host, extra='', on=None
    ):
        os.makedirs(workdir, exist_ok=True)
        with open(
            os.path.join(ROOT, 'etc', 'ceilometer', 'polling.yaml')
        ) as f:
            polling = yaml.safe_load(f)
        for source in polling['sources']:
            source['interval'] = 3
        polling_file = os.path.join(workdir, 'polling.yaml')
        with open(polling_file, 'w') as f:
            yaml.safe_dump(polling, f)
        super().__init__(
            workdir,
            transport_url,
            f'host = {host}\n[polling]\ncfg_file = {polling_file}\n'
            f'{credentials}{extra}',
            on=on,
        )


def distinct_samples(agents, resource_ids):
    """(resource, meter) -> how many distinct samples the notification
    ``agents`` published of ``resource_ids``: a message delivered again,
    to the same agent or another, gives the same sample ids."""
    ids = {}
    for agent in agents:
        for sample in agent.samples():
            if sample['resource_id'] in resource_ids:
                key = (sample['resource_id'], sample['name'])
                ids.setdefault(key, set()).add(sample['id'])
    return {key: len(found) for key, found in ids.items()}
