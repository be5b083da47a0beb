"""A certificate authority of the test run's own, and a server certificate
it signs for 127.0.0.1 and localhost.

Every server of a TLS stack presents the one server certificate; clients
trust ``cafile`` alone, as a cloud's services trust its internal CA. A
second, unrelated authority (``CertificateAuthority(..., 'wrong')``) is
what a client configured with the wrong bundle holds.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID = datetime.timedelta(days=2)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, 0o600)


def _certificate(subject, issuer, public_key, signing_key, extensions):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


class CertificateAuthority:
    def __init__(self, workdir, name='test'):
        os.makedirs(workdir, exist_ok=True)
        self.cafile = os.path.join(workdir, f'{name}-ca.pem')
        self.certfile = os.path.join(workdir, f'{name}-server.pem')
        self.keyfile = os.path.join(workdir, f'{name}-server-key.pem')
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name(f'ceilometer-backup {name} CA')
        signing = x509.KeyUsage(
            digital_signature=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        ca = _certificate(
            ca_name,
            ca_name,
            ca_key.public_key(),
            ca_key,
            [
                (x509.BasicConstraints(ca=True, path_length=0), True),
                (signing, True),
                (
                    x509.SubjectKeyIdentifier.from_public_key(
                        ca_key.public_key()
                    ),
                    False,
                ),
            ],
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names = [
            x509.IPAddress(ipaddress.ip_address('127.0.0.1')),
            x509.DNSName('localhost'),
        ]
        server = _certificate(
            _name('127.0.0.1'),
            ca_name,
            key.public_key(),
            ca_key,
            [
                (x509.SubjectAlternativeName(names), False),
                (
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                    False,
                ),
                (
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(
                        ca_key.public_key()
                    ),
                    False,
                ),
            ],
        )
        pem = serialization.Encoding.PEM
        _write(self.cafile, ca.public_bytes(pem))
        _write(self.certfile, server.public_bytes(pem))
        _write(
            self.keyfile,
            key.private_bytes(
                pem,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )

    @property
    def messaging(self):
        """oslo.messaging's options for a broker serving this certificate."""
        return (
            '[oslo_messaging_rabbit]\nssl = true\n'
            f'ssl_ca_file = {self.cafile}\n'
        )
