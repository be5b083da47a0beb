"""``backup_spool.size`` through Ceilometer's own polling manager, on a
real spool directory filled by the publisher's spool: its value is what
the directory's batch files hold on disk."""

import os

import pytest
from ceilometer.polling import manager
from ceilometer.sample import Sample

from ceilometer_backup.meter.gnocchi import spool as spool_module
from ceilometer_backup.meter.spool_pollster import (
    BackupSpoolPollster,
    SpoolDiscovery,
)
from tests.support import config, spools

SOURCE = (
    'sources:\n  - name: backup_spool\n    interval: 60\n'
    '    meters: [backup_spool.size]\n'
)


def _sample(n):
    return Sample(
        name='backup', type='gauge', unit='backup', volume=1,
        user_id='u', project_id='p', resource_id=f'b{n}',
        timestamp='2026-12-07T00:00:00', resource_metadata={},
    )  # fmt: skip


@pytest.fixture
def conf(tmp_path):
    conf = config.ceilometer_conf()
    polling = tmp_path / 'polling.yaml'
    polling.write_text(SOURCE)
    conf.set_override('cfg_file', str(polling), 'polling')
    conf.set_override('host', 'controller-2')
    SpoolDiscovery(conf)  # registers the spool's options
    conf.set_override('spool_dir', str(tmp_path / 'spool'), 'backup_gnocchi')
    return conf


def _polled(conf):
    sent = []

    class Notifier:
        def sample(self, context, event_type, payload):
            sent.extend(payload['samples'])

    agent = manager.AgentManager(0, conf, namespaces=['central'])
    agent.notifier = Notifier()
    agent.polling_manager = manager.PollingManager(conf)
    (task,) = agent.setup_polling_tasks().values()
    task.poll_and_notify()
    return sent


def _on_disk(directory):
    return sum(
        os.stat(os.path.join(directory, name)).st_size
        for name in os.listdir(directory)
        if name.endswith(spool_module.SUFFIX)
    )


def test_the_spool_held_on_this_host_is_sampled(conf):
    directory = conf.backup_gnocchi.spool_dir
    kept = spool_module.Spool(directory, 1024**2)
    (empty,) = _polled(conf)
    assert empty['counter_volume'] == 0
    for n in range(3):
        assert kept.put([_sample(n)] * (n + 1))
    (sample,) = _polled(conf)
    assert sample['counter_name'] == 'backup_spool.size'
    assert sample['counter_unit'] == 'B'
    assert sample['resource_id'] == 'controller-2'
    assert sample['counter_volume'] == _on_disk(directory) > 0
    assert sample['resource_metadata']['batches'] == 3


def test_a_host_without_a_spool_samples_nothing(conf):
    assert not os.path.exists(conf.backup_gnocchi.spool_dir)
    assert _polled(conf) == []
    # Polling made none.
    assert not os.path.exists(conf.backup_gnocchi.spool_dir)


def test_every_agent_samples_its_own_spool(conf):
    # No partitioning group: coordinated central agents do not split the
    # hosts' spools between them.
    assert SpoolDiscovery(conf).group_id is None


@spools.REFUSALS
def test_a_spool_it_cannot_read_is_one_error(
    conf, monkeypatch, caplog, refusing
):
    directory = conf.backup_gnocchi.spool_dir
    with spools.refused(monkeypatch, directory, refusing):
        resources = SpoolDiscovery(conf).discover(None)
        pollster = BackupSpoolPollster(conf)
        assert list(pollster.get_samples(None, {}, resources)) == []
    (error,) = [r for r in caplog.records if r.levelname == 'ERROR']
    assert 'Permission denied' in error.getMessage()
    assert "notification agent's user" in error.getMessage()
