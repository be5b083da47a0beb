"""Gnocchi and Ceilometer's two agents, deployed as the docs say.

Gnocchi 4.7.1 keeps its index in the PostgreSQL given; ``ceilometer-upgrade``
then ``ceilometer-backup upgrade --output-dir`` prepare it and write the
files the agents run with (mapping, event definitions and pipeline,
meters.d); ``ceilometer-agent-notification`` publishes to
``backup-gnocchi://`` (and to a file the tests read back), with the event
pipeline on; ``ceilometer-polling --polling-namespaces central`` polls
Cinder with the ``[service_credentials]`` given, every 3 seconds, and
reads Gnocchi for ``backup.stored.size``.
"""

import shutil
import sys

import yaml

from ceilometer_backup.cmd.gnocchi import STOCK_FILES
from testcloud import servers
from testcloud.ceilometer_services import NotificationAgent, PollingAgent
from testcloud.gnocchi import Gnocchi
from testcloud.ground import EVENT_PIPELINE

PUBLISHER = (
    'backup-gnocchi://?enable_filter_project=false&archive_policy={policy}'
    '&resources_definition_file={etc}/gnocchi_resources.yaml'
)
LOW = 'ceilometer-low'
# The mean and the max of each second, as ceilometer-high, and how many
# measures made it. Its back window keeps measures that come back late
# after an outage.
ARCHIVE_POLICY = {
    'name': 'backup-count',
    'back_window': 3600,
    'aggregation_methods': ['mean', 'max', 'count'],
    'definition': [{'granularity': '1s', 'timespan': '1 day'}],
}


class Telemetry(servers.Service):
    def __init__(
        self,
        root,
        rabbitmq,
        postgresql,
        credentials,
        polling='',
        archive_policy=ARCHIVE_POLICY,
        alarm_events=False,
        deployed_pipeline=False,
        tls=None,
        keystone=None,
        notification_agents=1,
        network=None,
        transport_url=None,
        metricd=1,
        coordination_url=None,
        address=None,
    ):
        """``credentials``: a [service_credentials] section; ``polling``:
        more configuration of the polling agent; ``archive_policy``: of
        every metric the agent creates (None: ``ceilometer-low``, as the
        install pages say, which the Gnocchi publisher creates from
        Ceilometer's own definitions); ``alarm_events``: backup events
        also published to Aodh's listener, as the docs say;
        ``deployed_pipeline``: the agent runs the pipeline.yaml that
        ``upgrade`` writes, made from stock's publishing to ``gnocchi://``
        (and to the file the tests read), instead of every meter to
        ``backup-gnocchi://``; ``tls``: Gnocchi on HTTPS with that
        authority's certificate (testcloud.tls); ``keystone``: Gnocchi
        behind that Keystone, the agents its ``ceilometer`` user;
        ``notification_agents``: how many ``ceilometer-agent-notification``
        hosts share the notifications, each with a spool of its own
        (``notifications``; ``notification`` is the first); ``network``:
        a testcloud.hosts Network, each notification agent then on a host
        of its own (``controller-N``), Gnocchi on the network's address;
        ``transport_url``: the agents' (a user of ``rabbitmq`` that may
        come from the hosts), else ``rabbitmq.url``; ``metricd``,
        ``coordination_url``: Gnocchi's (testcloud.gnocchi); ``address``:
        where Gnocchi listens, for hosts of a network to reach it (with
        ``network``, its address)."""
        transport_url = transport_url or rabbitmq.url
        self.deployed_pipeline = deployed_pipeline
        self.archive_policy = archive_policy
        self.alarm_events = alarm_events
        self.root = root
        self.etc = root / 'etc'
        self.rabbitmq = rabbitmq
        self.postgresql = postgresql
        self.gnocchi = Gnocchi(
            str(root / 'gnocchi'),
            postgresql.database_url('gnocchi'),
            tls=tls,
            keystone=keystone,
            address=network.address if network else address,
            metricd=metricd,
            coordination_url=coordination_url,
        )
        publisher = PUBLISHER.format(
            etc=self.etc,
            policy=archive_policy['name'] if archive_policy else LOW,
        )
        if deployed_pipeline:
            publisher = publisher.replace('backup-gnocchi://', 'gnocchi://')
        self.notifications = [
            NotificationAgent(
                str(root / ('notification' + (f'-{n}' if n else ''))),
                transport_url,
                publishers=[publisher],
                pipelines=('meter', 'event'),
                meters_dir=str(self.etc / 'meters.d'),
                defaults='event_pipeline_cfg_file = '
                f'{self.etc}/event_pipeline.yaml',
                extra=f"""[event]
definitions_cfg_file = {self.etc}/event_definitions.yaml
{self.gnocchi.credentials()}{rabbitmq.client_options}""",
                host=f'controller-{n + 1}',
                on=network.add(f'controller-{n + 1}') if network else None,
            )
            for n in range(notification_agents)
        ]
        self.notification = self.notifications[0]
        self.poller = PollingAgent(
            str(root / 'polling'),
            transport_url,
            credentials
            + polling
            + self.gnocchi_reader()
            + rabbitmq.client_options,
            host='central-1',
        )
        self.upgrade_outputs = ()

    def gnocchi_reader(self):
        """A central agent's [gnocchi] sections: backup.stored.size reads
        Gnocchi with [gnocchi] auth_section, as [service_credentials] are
        Keystone's here and this Gnocchi is in Keystone's catalog only
        when behind it."""
        return (
            '[gnocchi]\nauth_section = gnocchi_basic\n'
            + self.gnocchi.credentials('gnocchi_basic')
        )

    def start(self):
        try:
            self.postgresql.create_database('gnocchi')
            self.gnocchi.start()
            self.client = self.gnocchi.client()
            if self.archive_policy:
                self.client.archive_policy.create(self.archive_policy)
                if self.deployed_pipeline:
                    self._default_policy()
            servers.run(
                [
                    servers.console_script('ceilometer-upgrade'),
                    '--config-file',
                    self.notification.conf,
                ]
            )
            upgrade = [
                sys.executable,
                '-m',
                'ceilometer_backup.cmd.main',
                'upgrade',
                '--config-file',
                self.notification.conf,
                '--output-dir',
                str(self.etc),
            ]
            self.upgrade_outputs = (servers.run(upgrade), servers.run(upgrade))
            if self.deployed_pipeline:
                # As an operator installs it, over the one it was made from.
                for agent in self.notifications:
                    shutil.copy(self.etc / 'pipeline.yaml', agent.pipeline)
            if self.alarm_events:
                self._publish_events_to_aodh()
            for agent in self.notifications:
                agent.start()
            self.poller.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _default_policy(self):
        """The mapping upgrade builds on, with ``archive_policy`` as its
        default: the deployed pipeline's backup sink leaves out the
        publisher's archive_policy option, so the backup meters are on
        the mapping's policies (that one, with the back window)."""
        with open(STOCK_FILES['gnocchi_resources.yaml']) as f:
            mapping = yaml.safe_load(f)
        mapping['archive_policy_default'] = self.archive_policy['name']
        mapping['archive_policies'].append(self.archive_policy)
        self.etc.mkdir(parents=True, exist_ok=True)
        (self.etc / 'gnocchi_resources.yaml').write_text(
            yaml.safe_dump(mapping)
        )

    def _publish_events_to_aodh(self):
        path = self.etc / 'event_pipeline.yaml'
        pipeline = yaml.safe_load(path.read_text())
        to_aodh = yaml.safe_load(EVENT_PIPELINE)
        for part in ('sources', 'sinks'):
            pipeline[part] += to_aodh[part]
        path.write_text(yaml.safe_dump(pipeline))

    def stop(self):
        # The poller first: the notification agents take what it sent.
        for agent in (self.poller, *self.notifications):
            agent.stop()
        self.gnocchi.stop()
