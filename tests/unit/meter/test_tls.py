from unittest import mock

import pytest
from keystoneauth1 import exceptions as ka_exc

from ceilometer_backup.meter import tls


@pytest.mark.parametrize(
    'reason, advice',
    [
        (
            '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: '
            'Hostname mismatch, certificate is not valid for '
            "'keystone.example'. (_ssl.c:1006)",
            'does not name the host of that URL',
        ),
        (
            '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: '
            'unable to get local issuer certificate (_ssl.c:1006)',
            'Set cafile to the bundle of the CA',
        ),
    ],
)
def test_a_tls_failure_keeps_openssls_whole_reason(reason, advice):
    """urllib3 quotes the reason, which may hold quotes itself."""
    quote = '"' if "'" in reason else "'"
    exc = ka_exc.SSLError(
        'SSL exception connecting to https://keystone.example:5000/v3: '
        "HTTPSConnectionPool(host='keystone.example', port=5000): Max "
        'retries exceeded with url: /v3 (Caused by SSLError('
        f'SSLCertVerificationError(1, {quote}{reason}{quote})))'
    )
    conf = {
        'gnocchi': mock.Mock(auth_section='gnocchi_section'),
        'gnocchi_section': mock.Mock(cafile=None),
    }
    failure = str(tls.tls_failure(exc, conf, 'gnocchi'))
    assert failure.startswith(
        f'TLS to https://keystone.example:5000/v3 failed ({reason}) with '
        "[gnocchi_section] cafile (unset: the default bundle of Python's "
        'requests).'
    )
    assert advice in failure
    refused = ka_exc.ConnectFailure('refused')
    assert tls.tls_failure(refused, conf, 'gnocchi') is None
