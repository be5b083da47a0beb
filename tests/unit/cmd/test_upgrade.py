"""``ceilometer-backup upgrade`` failing clearly, with the real clients."""

from testcloud import servers
from tests.support.checks import run_upgrade
from tests.support.config import credentials
from tests.support.openstack_api import PASSWORD, FakeOpenStack


def test_unreachable_gnocchi_is_one_clear_error(tmp_path):
    port = servers.free_port()
    done = run_upgrade(
        tmp_path,
        '[service_credentials]\nauth_type = gnocchi-basic\nuser = admin\n'
        f'endpoint = http://127.0.0.1:{port}\n',
    )
    assert done.returncode == 1
    (line,) = [x for x in done.stderr.splitlines() if 'upgrade:' in x]
    assert 'cannot reach Gnocchi' in line and str(port) in line
    assert 'Traceback' not in done.stderr


def test_wrong_credentials_are_one_clear_error_without_the_password(tmp_path):
    with FakeOpenStack() as api:
        done = run_upgrade(
            tmp_path, credentials(api, password='wrong-' + PASSWORD)
        )
    assert done.returncode == 1
    assert 'refused the credentials of [service_credentials]' in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert 'Traceback' not in done.stderr
