"""CloudKitty 25.0.0's rating processor as a process the tests own.

CloudKitty lives in a virtualenv of its own (``servers.VENVS``): its pins
need not agree with Ceilometer's. Nothing here needs Keystone, RabbitMQ,
InfluxDB or Elasticsearch:

- storage is v1 ``sqlalchemy`` (rated frames in CloudKitty's own database,
  SQLite here), the one backend with no server of its own;
- the ``source`` fetcher lists the projects to rate;
- the Gnocchi collector reads Gnocchi in ``basic`` auth mode;
- RPC, which cloudkitty-processor serves for the API, uses oslo.messaging's
  in-process ``fake://`` transport; coordination is tooz's file driver.

Prices and the module state are written with CloudKitty's own Python DB API
(the hashmap module's and the rating modules' ones), the rated frames are
read back with its storage API, each by testcloud/scripts/cloudkitty_rating.py
run with the virtualenv's Python, which prints JSON.
"""

import datetime
import json
import os
import subprocess
import time

import yaml

from testcloud import servers
from testcloud.ground import ROOT

METRICS = os.path.join(ROOT, 'etc', 'cloudkitty', 'metrics.yml')
PRICES = os.path.join(ROOT, 'etc', 'cloudkitty', 'hashmap.yml')


def shipped_metrics(period):
    """etc/cloudkitty/metrics.yml, collecting at the archive policy
    granularity a test uses: its rating period."""
    with open(METRICS) as f:
        metrics = yaml.safe_load(f)
    for metric in metrics['metrics'].values():
        metric['extra_args']['force_granularity'] = period
    return metrics


def shipped_prices():
    with open(PRICES) as f:
        return yaml.safe_load(f)


class CloudKitty(servers.Service):
    venv_name = 'cloudkitty'

    def __init__(
        self,
        workdir,
        gnocchi,
        database_url,
        project_ids,
        period,
        metrics=None,
        wait_periods=1,
    ):
        """``database_url``: an SQLAlchemy URL, or None for SQLite in
        ``workdir``. Not PostgreSQL: CloudKitty 25's hashmap migration
        f8c799db4aa0 hands a plain string to ``Connection.execute`` there,
        which SQLAlchemy 2 (that its oslo.db requires) refuses.

        ``metrics``: the metrics.yml content, by default the shipped one
        at ``period`` granularity. ``wait_periods=1`` rates a period once
        it is over: with 0, CloudKitty rates a period as soon as it has
        begun, before its measures exist."""
        servers.require('CloudKitty', self.bin('cloudkitty-processor'))
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.project_ids = list(project_ids)
        self.period = period
        self.database_url = (
            database_url or f'sqlite:///{workdir}/cloudkitty.sqlite'
        )
        self.conf = os.path.join(workdir, 'cloudkitty.conf')
        self.metrics_file = os.path.join(workdir, 'metrics.yml')
        self.log = os.path.join(workdir, 'cloudkitty-processor.out')
        self.process = None
        with open(self.metrics_file, 'w') as f:
            yaml.safe_dump(
                metrics or shipped_metrics(period), f, sort_keys=False
            )
        with open(self.conf, 'w') as f:
            f.write(
                f"""[DEFAULT]
debug = true
log_file = {workdir}/cloudkitty.log
transport_url = fake://
host = cloudkitty-test
[database]
connection = {self.database_url}
[storage]
version = 1
backend = sqlalchemy
[collect]
collector = gnocchi
period = {period}
wait_periods = {wait_periods}
metrics_conf = {self.metrics_file}
scope_key = project_id
[collector_gnocchi]
gnocchi_auth_type = basic
gnocchi_user = admin
gnocchi_endpoint = {gnocchi.url}
[fetcher]
backend = source
[fetcher_source]
sources = {','.join(self.project_ids)}
[orchestrator]
coordination_url = file://{workdir}/locks
max_workers = 1
max_workers_reprocessing = 0
max_threads = 4
[oslo_concurrency]
lock_path = {workdir}/locks
"""
            )
        # CloudKitty compares naive local datetimes with UTC ones here and
        # there: keep its processes in UTC whatever the machine's zone.
        self.env = dict(
            os.environ,
            TZ='UTC',
            PATH=f'{self.venv}/bin:{os.environ.get("PATH", "")}',
        )

    def _command(self, argv, *args):
        name = os.path.basename(argv[-1])
        done = subprocess.run(
            [*argv, '--config-file', self.conf, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f'{name} failed:\n{done.stderr[-3000:]}')
        return done.stdout

    def _helper(self, command, **args):
        done = subprocess.run(
            [
                *servers.script(self.venv, 'cloudkitty_rating'),
                self.conf,
                command,
                json.dumps(args),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(
                f'CloudKitty helper {command} failed:\n{done.stderr[-3000:]}'
            )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def prepare(self, prices=None, prices_start=None):
        """Schema (cloudkitty-dbsync, see scripts/cloudkitty_dbsync.py, and
        cloudkitty-storage-init), the hashmap
        module enabled and the prices (by default etc/cloudkitty's) created,
        valid from ``prices_start``: a rule applies to the periods that
        begin after its start, and CloudKitty's API refuses a start in the
        past, so a rule created now never rates a period already over."""
        self._command(
            servers.script(self.venv, 'cloudkitty_dbsync'), 'upgrade'
        )
        self._command([self.bin('cloudkitty-storage-init')])
        start = prices_start or datetime.datetime(
            2000, 1, 1, tzinfo=datetime.timezone.utc
        )
        return self._helper(
            'prices',
            start=start.isoformat(),
            **(prices or shipped_prices()),
        )

    def start(self, first_period):
        """Rate from ``first_period`` on (not from the month's start, as a
        scope CloudKitty has never seen would be), then run the processor:
        one worker, no reprocessing worker. The one service whose start
        needs more: when to rate from (so not started by ``with``)."""
        self._helper(
            'seed',
            projects=self.project_ids,
            last_processed=(
                first_period - datetime.timedelta(seconds=self.period)
            ).isoformat(),
        )
        self.process = servers.start(
            [self.bin('cloudkitty-processor'), '--config-file', self.conf],
            self.env,
            self.log,
        )
        return self

    def processed(self):
        """{project: start of the last period rated, or None}."""
        return {
            project: datetime.datetime.fromisoformat(last) if last else None
            for project, last in self._helper(
                'state', projects=self.project_ids
            ).items()
        }

    def wait_rated(self, last_period, timeout):
        """Until every project's period beginning ``last_period`` is rated."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f'cloudkitty-processor exited, see {self.log}'
                )
            done = self.processed()
            if all(last and last >= last_period for last in done.values()):
                return done
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f'CloudKitty rated up to {done}, not {last_period}'
                )
            time.sleep(1)

    def report(self, begin, end):
        """What CloudKitty stored for [begin, end): ``frames``, one per
        rated point (project_id, begin, end, service, unit, qty, price and
        desc, its groupby and metadata), and ``totals``, {project:
        {service: price}}. Quantities and prices are decimal strings."""
        return self._helper(
            'report',
            projects=self.project_ids,
            begin=begin.isoformat(),
            end=end.isoformat(),
        )

    def stop(self):
        # Its worker says it exits on SIGTERM, and lingers: SIGKILL soon.
        servers.stop(self.process, timeout=2)
        self.process = None
