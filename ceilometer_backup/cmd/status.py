"""``ceilometer-backup-status upgrade check``: can this host meter backups
into Gnocchi, and is it holding any back?

OpenStack's status command (oslo.upgradecheck), run on a host of
``ceilometer-agent-notification`` with Ceilometer's configuration, after
``ceilometer-backup upgrade`` and after an upgrade of this package: what
the agent needs in Gnocchi and in its pipeline, and what its spool keeps
while Gnocchi cannot take it (a monitoring system can run it: exit status
0 success, 1 warning, 2 failure).
"""

import datetime
import sys

from ceilometer import service
from gnocchiclient import exceptions as gnocchi_exc
from oslo_config import cfg
from oslo_log import log
from oslo_upgradecheck import upgradecheck

from ceilometer_backup import opts
from ceilometer_backup.cmd import CommandFailed, gnocchi
from ceilometer_backup.meter.gnocchi import schema, spool
from ceilometer_backup.meter.gnocchi.outbox import MIB

Code = upgradecheck.Code
Result = upgradecheck.Result
# A spool this full refuses batches soon.
SPOOL_FULL = 0.8
_UPGRADE = 'run ceilometer-backup upgrade'


class Checks(upgradecheck.UpgradeCommands):
    display_title = 'ceilometer-backup status'

    def __init__(self, conf):
        opts.register_publisher_opts(conf)
        self.conf = conf

    def _gnocchi(self, check):
        """``check(client)``, or the failure to reach Gnocchi in one line."""
        try:
            with gnocchi.client(self.conf) as client:
                return check(client)
        except CommandFailed as exc:
            return Result(Code.FAILURE, str(exc))

    def _resource_type(self):
        def check(client):
            try:
                existing = client.resource_type.get(name=schema.RESOURCE_TYPE)
            except gnocchi_exc.NotFound:
                return Result(
                    Code.FAILURE,
                    f'Gnocchi has no resource type {schema.RESOURCE_TYPE}: '
                    f'{_UPGRADE}.',
                )
            missing = schema.missing_attributes(existing)
            if missing:
                return Result(
                    Code.WARNING,
                    f'{schema.RESOURCE_TYPE} lacks {", ".join(missing)}: '
                    f'{_UPGRADE}.',
                )
            return Result(Code.SUCCESS)

        return self._gnocchi(check)

    def _archive_policies(self):
        try:
            wanted = gnocchi.archive_policies(self.conf)
        except CommandFailed as exc:
            return Result(Code.FAILURE, str(exc))

        def check(client):
            problems = []
            for policy in wanted:
                try:
                    existing = client.archive_policy.get(policy['name'])
                except gnocchi_exc.NotFound:
                    problems.append(f'{policy["name"]} is missing')
                    continue
                if existing['back_window'] != policy['back_window']:
                    problems.append(
                        f'{policy["name"]} has back window '
                        f'{existing["back_window"]}, '
                        f'[{opts.PUBLISHER_GROUP}] outage_minutes gives '
                        f'{policy["back_window"]}'
                    )
            if problems:
                return Result(
                    Code.WARNING,
                    f'{"; ".join(problems)}: {_UPGRADE} (changing a '
                    "policy takes Gnocchi's admin role).",
                )
            return Result(Code.SUCCESS)

        return self._gnocchi(check)

    def _pipeline(self):
        if gnocchi.routes_backup_meters(self.conf):
            return Result(Code.SUCCESS)
        return Result(
            Code.WARNING,
            f'the sample pipeline ({self.conf.pipeline_cfg_file}) sends no '
            f'backup meter to {gnocchi.PUBLISHER}://: backup samples are '
            'not kept through a Gnocchi outage, nor deleted backups ended; '
            f'{_UPGRADE} --output-dir and install its pipeline.yaml.',
        )

    def _spool(self):
        options = self.conf[opts.PUBLISHER_GROUP]
        try:
            kept = spool.Spool(
                options.spool_dir, options.spool_max_mb * MIB, make=False
            )
            batches, apart = kept.batches(), kept.set_apart()
            held = kept.held()
        except FileNotFoundError:
            return Result(
                Code.SUCCESS,
                f'nothing kept ({options.spool_dir} not made yet)',
            )
        except OSError as exc:
            # The spool is the agent's own (mode 0700): a monitoring user
            # cannot read it.
            return Result(
                Code.FAILURE,
                f'cannot read the spool {options.spool_dir}: '
                f'{exc.strerror or exc}; run this as the user of '
                'ceilometer-agent-notification',
            )
        if not batches and not apart:
            return Result(Code.SUCCESS, f'nothing kept in {kept.directory}')
        details = []
        code = Code.WARNING
        if batches:
            bound = kept.max_bytes
            oldest = datetime.datetime.fromtimestamp(
                spool.Spool.kept_at(batches[0]), datetime.timezone.utc
            )
            details.append(
                f'{len(batches)} batches kept in {kept.directory} since '
                f'{oldest:%Y-%m-%d %H:%M:%S} UTC, for Gnocchi to take '
                f'({held / MIB:.1f} of spool_max_mb {bound // MIB} MiB)'
            )
            if held >= SPOOL_FULL * bound:
                code = Code.FAILURE
        if apart:
            details.append(
                f'{len(apart)} batches set aside there (.unreadable, '
                '.refused): see the agent log for why'
            )
        return Result(code, '; '.join(details))

    _upgrade_checks = (
        (f'Gnocchi resource type {schema.RESOURCE_TYPE}', _resource_type),
        ('Archive policies of the backup meters', _archive_policies),
        ('Sample pipeline', _pipeline),
        ('Spool of backup samples', _spool),
    )


def main(argv=None):
    argv = sys.argv if argv is None else argv
    conf = cfg.ConfigOpts()
    checks = Checks(conf)
    upgradecheck.register_cli_options(conf, checks)
    # Log lines (a retried request) on stderr: stdout is the report, JSON
    # with --json.
    log.register_options(conf)
    conf.set_default('use_stderr', True)
    # Ceilometer's own parsing (its options, Keystone's, logging) where
    # upgradecheck.main would parse; --json is read from upgradecheck.CONF,
    # which main sets.
    upgradecheck.CONF = service.prepare_service(argv, conf=conf)
    return upgradecheck.run(conf)


if __name__ == '__main__':
    sys.exit(main())
