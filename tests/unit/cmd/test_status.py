"""``ceilometer-backup-status upgrade check`` on a fake Gnocchi and a real
spool directory (the real Gnocchi and agent: test_gnocchi_stack.py,
test_gnocchi_outage.py)."""

import os

import pytest
from ceilometer.sample import Sample
from oslo_upgradecheck.upgradecheck import Code

from ceilometer_backup.cmd import gnocchi, status
from ceilometer_backup.meter.gnocchi import schema, spool
from tests.support import config, spools
from tests.support.fake_gnocchi import FakeGnocchi
from tests.unit.cmd.test_gnocchi import _stock


@pytest.fixture
def fake(monkeypatch):
    fake = FakeGnocchi()
    monkeypatch.setattr(
        gnocchi.gnocchi_client, 'get_gnocchiclient', lambda conf: fake
    )
    return fake


@pytest.fixture
def checks(tmp_path):
    checks = status.Checks(config.ceilometer_conf())
    checks.conf.set_override(
        'spool_dir', str(tmp_path / 'spool'), 'backup_gnocchi'
    )
    return checks


def _sample():
    return Sample(
        name='backup', type='gauge', unit='backup', volume=1,
        user_id='u', project_id='p', resource_id='b',
        timestamp='2026-12-07T00:00:00', resource_metadata={},
    )  # fmt: skip


def test_nothing_made_yet_fails_and_says_what_to_run(fake, checks):
    result = checks._resource_type()
    assert result.code == Code.FAILURE
    assert 'run ceilometer-backup upgrade' in result.details
    policies = checks._archive_policies()
    assert policies.code == Code.WARNING
    assert 'ceilometer-low-back-window is missing' in policies.details
    # The test pipeline publishes to test:// only.
    assert checks._pipeline().code == Code.WARNING
    assert checks._spool().code == Code.SUCCESS
    assert checks.check() == Code.FAILURE


def test_what_upgrade_makes_passes_and_a_changed_outage_is_told(
    fake, checks, tmp_path
):
    schema.upgrade_resource_type(fake)
    stock = _stock('gnocchi_resources.yaml')
    schema.upgrade_archive_policies(fake, schema.archive_policies(stock, 60))
    assert checks._resource_type().code == Code.SUCCESS
    assert checks._archive_policies().code == Code.SUCCESS
    checks.conf.set_override('outage_minutes', 180, 'backup_gnocchi')
    result = checks._archive_policies()
    assert result.code == Code.WARNING
    assert 'has back window 14, [backup_gnocchi] outage_minutes gives 38' in (
        result.details
    )
    pipeline = tmp_path / 'pipeline.yaml'
    pipeline.write_text(
        gnocchi._dump(gnocchi.sample_pipeline(_stock('pipeline.yaml')))
    )
    checks.conf.set_override('pipeline_cfg_file', str(pipeline))
    assert checks._pipeline().code == Code.SUCCESS


def test_kept_batches_warn_a_nearly_full_spool_fails(checks):
    directory = checks.conf.backup_gnocchi.spool_dir
    kept = spool.Spool(directory, 1024**2)
    assert kept.put([_sample()])
    result = checks._spool()
    assert result.code == Code.WARNING
    assert result.details.startswith(f'1 batches kept in {directory} since ')
    kept.set_aside(kept.batches()[0], spool.REFUSED)
    result = checks._spool()
    assert result.code == Code.WARNING
    assert result.details.startswith('1 batches set aside there')
    # A spool of 1 MiB, held to 80 %.
    checks.conf.set_override('spool_max_mb', 1, 'backup_gnocchi')
    while kept.held() < status.SPOOL_FULL * 1024**2:
        assert kept.put([_sample()] * 500)
    assert checks._spool().code == Code.FAILURE


@spools.REFUSALS
def test_a_spool_it_cannot_read_fails_in_one_line(
    checks, monkeypatch, refusing
):
    directory = checks.conf.backup_gnocchi.spool_dir
    with spools.refused(monkeypatch, directory, refusing):
        result = checks._spool()
    assert result.code == Code.FAILURE
    assert result.details == (
        f'cannot read the spool {directory}: Permission denied; run this '
        'as the user of ceilometer-agent-notification'
    )


def test_a_spool_not_made_yet_is_nothing_kept(checks):
    result = checks._spool()
    assert result.code == Code.SUCCESS
    assert result.details.endswith('not made yet)')
    # The check made none.
    assert not os.path.exists(checks.conf.backup_gnocchi.spool_dir)


def test_after_the_previous_release_only_the_status_policy_is_missing(
    fake, checks
):
    # What the previous release's upgrade made: every policy but
    # backup.status's own.
    stock = _stock('gnocchi_resources.yaml')
    hour = schema.archive_policies(stock, 60)
    made = [p for p in hour if p['name'] != 'ceilometer-backup-low-last']
    assert len(made) == len(hour) - 1
    schema.upgrade_archive_policies(fake, made)
    result = checks._archive_policies()
    assert result.code == Code.WARNING
    assert result.details.startswith(
        'ceilometer-backup-low-last is missing: run ceilometer-backup upgrade'
    )
    assert schema.upgrade_archive_policies(fake, hour) == [
        'created archive policy ceilometer-backup-low-last (back window 14)'
    ]
    assert checks._archive_policies().code == Code.SUCCESS
