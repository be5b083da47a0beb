"""keystoneauth's TLS failures told in one line, for every session the
Ceilometer side opens (Keystone and Cinder with ``[service_credentials]``,
Gnocchi with ``[gnocchi] auth_section``).

keystoneauth reports a certificate the bundle does not verify as urllib3's
whole retry chain; an operator needs the server, the CA bundle in use,
OpenSSL's reason and what to change.
"""

import re

from keystoneauth1 import exceptions as ka_exc


class TLSFailure(Exception):
    """No TLS session with Keystone, Cinder or Gnocchi: most often a
    certificate the configured bundle does not verify."""


# keystoneauth's SSLError says this, and a DiscoveryFailure caused by one.
_SSL_FAILED = 'SSL exception connecting to'


def tls_failure(exc, conf, group):
    """A TLSFailure telling ``exc`` in one line, if keystoneauth failed
    to make a TLS session with the credentials of ``conf``'s ``[group]``
    (or of the section its ``auth_section`` names); else None."""
    if not isinstance(exc, ka_exc.SSLError | ka_exc.DiscoveryFailure):
        return None
    text = str(exc)
    if _SSL_FAILED not in text:
        return None
    section = conf[group].auth_section or group
    cafile = conf[section].cafile
    # 'SSL exception connecting to URL: <urllib3's retry chain>'.
    url = re.search(_SSL_FAILED + r' (\S+?):? ', text)
    # OpenSSL's reason, quotes and all, ends with its source position.
    reason = re.search(r'\[SSL: \w+\].*?\(_ssl\.c:\d+\)', text)
    reason = reason.group(0) if reason else text
    if 'mismatch' in reason:
        advice = (
            ' The certificate does not name the host of that URL: reach '
            'the server by a name its certificate holds'
        )
    elif 'CERTIFICATE_VERIFY_FAILED' in reason:
        advice = (
            ' Set cafile to the bundle of the CA that signed the '
            "server's certificate"
        )
    else:
        advice = ''
    bundle = cafile or "(unset: the default bundle of Python's requests)"
    return TLSFailure(
        f'TLS to {url.group(1) if url else "a server"} failed ({reason}) '
        f'with [{section}] cafile {bundle}.{advice}'
    )
