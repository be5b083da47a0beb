"""TLS everywhere: every hop of a backup's metering on certificates of a
CA the suite makes, as a cloud's services are on its internal CA; and
Gnocchi behind Keystone, as in production.

Keystone 30, cinder-api 29 and Gnocchi 4.7.1 serve HTTPS only (uwsgi's
``--https-socket``, oslo.service's ``[ssl]``); RabbitMQ takes AMQP over
TLS only. cinder-backup (the wrapper, as shipped) sends over TLS with
oslo.messaging's own options, Ceilometer's agents consume over TLS,
publish to Gnocchi (found in Keystone's catalog, its tokens checked by
keystonemiddleware over HTTPS) and poll cinder-api over HTTPS with
keystoneauth's ``cafile``, and refuse a server their bundle does not
vouch for.
"""

import os
import subprocess
import sys

import kombu
import pytest
import requests

from ceilometer_backup.meter.cinder import CinderBackups
from ceilometer_backup.meter.discovery import BackupDiscovery
from testcloud.cloud import real_cloud, wait_for
from testcloud.ground import MIB
from testcloud.keystone import PASSWORDS
from testcloud.rabbitmq import RabbitMQ
from testcloud.tls import CertificateAuthority
from tests.support import config
from tests.support.checks import errors_of_this_package


@pytest.fixture(scope='module')
def authority(tmp_path_factory):
    return CertificateAuthority(str(tmp_path_factory.mktemp('ca')))


@pytest.fixture(scope='module')
def cloud(tmp_path_factory, authority):
    root = tmp_path_factory.mktemp('tls')
    (root / 'rabbitmq').mkdir()
    broker = RabbitMQ(str(root / 'rabbitmq'), tls=authority)
    try:
        broker.start()
        with real_cloud(
            root, broker, tls=authority, keystone_gnocchi=True
        ) as cloud:
            yield cloud
    finally:
        broker.stop()


def _refuses_plain_http(port):
    try:
        answer = requests.get(f'http://127.0.0.1:{port}/', timeout=10)
    except requests.ConnectionError:
        return True
    return answer.status_code == 400 and 'HTTPS' in answer.text


def test_a_backup_is_metered_with_every_hop_on_tls(cloud, authority):
    keystone, cinder = cloud.stack.keystone, cloud.cinder
    gnocchi = cloud.telemetry.gnocchi
    for port in (keystone.port, cinder.port, gnocchi.port):
        assert _refuses_plain_http(port), port
    assert cloud.rabbitmq.listeners() == [('amqp/ssl', cloud.rabbitmq.port)]
    plain = kombu.Connection(
        f'amqp://guest:guest@127.0.0.1:{cloud.rabbitmq.port}//',
        connect_timeout=5,
    )
    with pytest.raises(OSError):
        plain.connect()

    volume = cloud.volume()
    with open(cinder.volume_path(volume.id), 'r+b') as f:
        f.write(os.urandom(8 * MIB))
    backup = cloud.backup(volume.id, name='over-tls')
    assert backup.status == 'available'
    on_disk = cloud.on_disk(backup.id)

    # The stored bytes travel only in the wrapper's notification: over
    # TLS to the agent, over HTTPS to Gnocchi. The polled size comes from
    # the HTTPS cinder-api.
    def metered():
        stored = cloud.measures(backup.id, 'backup.stored.size')
        assert stored and stored[0] == on_disk
        assert cloud.measures(backup.id, 'backup.create.duration')
        return [
            s
            for s in cloud.samples(backup.id, 'backup.size')
            if 'event_type' not in s['resource_metadata']
        ]

    wait_for(metered)
    cloud.delete(backup.id)
    wait_for(
        lambda: cloud.gnocchi.resource.get('volume_backup', backup.id)[
            'ended_at'
        ]
    )


def test_a_certificate_the_bundle_does_not_vouch_for_is_refused_clearly(
    cloud, tmp_path, caplog
):
    wrong = CertificateAuthority(str(tmp_path / 'wrong'), 'wrong')
    good = cloud.central_conf(
        tmp_path / 'good.conf', cafile=cloud.stack.tls.cafile
    )
    CinderBackups(config.prepare_service([str(good)])).records()
    bad = cloud.central_conf(tmp_path / 'wrong.conf', cafile=wrong.cafile)

    # The pollster: one ERROR naming the server and the bundle, no backup.
    discovery = BackupDiscovery(config.prepare_service([str(bad)]))
    with caplog.at_level('ERROR'):
        assert discovery.discover(None) == []
    (line,) = errors_of_this_package(caplog)
    expected = (
        f'TLS to {cloud.stack.keystone.url}',
        f'[service_credentials] cafile {wrong.cafile}',
        'CERTIFICATE_VERIFY_FAILED',
    )
    for part in expected:
        assert part in line, line
    assert PASSWORDS['ceilometer'] not in line

    # reconcile: the same line, nothing ended, a failure exit.
    reconcile = [sys.executable, '-m', 'ceilometer_backup.cmd.main',
                 'reconcile', '--dry-run', '--config-file']  # fmt: skip
    refused = subprocess.run(
        [*reconcile, str(bad)], capture_output=True, text=True
    )
    assert refused.returncode == 1
    for part in expected:
        assert part in refused.stderr, refused.stderr
    assert PASSWORDS['ceilometer'] not in refused.stderr + refused.stdout
    done = subprocess.run(
        [*reconcile, str(good)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert 'backup resource(s) would end' in done.stdout


def test_gnocchi_resource_type_changes_take_the_service_role(cloud, tmp_path):
    """``upgrade`` with Gnocchi's default policy: the reader role is
    refused in one line and changes nothing; the service role alone is
    enough."""
    client = cloud.gnocchi
    # As installed before stored_bytes: upgrade has an attribute to add.
    client.resource_type.update(
        'volume_backup',
        [{'op': 'remove', 'path': '/attributes/stored_bytes'}],
    )

    def upgrade(user):
        path = tmp_path / f'{user}.conf'
        path.write_text(cloud.telemetry.gnocchi.credentials(user=user))
        return subprocess.run(
            [sys.executable, '-m', 'ceilometer_backup.cmd.main', 'upgrade',
             '--config-file', str(path)],
            capture_output=True, text=True,
        )  # fmt: skip

    def attributes():
        return client.resource_type.get('volume_backup')['attributes']

    refused = upgrade('metering-reader')
    assert refused.returncode == 1
    assert 'Gnocchi or Keystone forbids the user of [service_credentials]' in (
        refused.stderr
    )
    assert 'to the admin and service roles' in refused.stderr
    assert PASSWORDS['metering-reader'] not in refused.stderr
    assert 'stored_bytes' not in attributes()
    done = upgrade('metering-service')
    assert done.returncode == 0, done.stderr
    assert 'stored_bytes' in attributes()
