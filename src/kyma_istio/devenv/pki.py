"""Certificates and keys of the local control plane.

One CA signs everything: the serving certificate (shared by kube-apiserver, controller-manager and
scheduler, which all listen on 127.0.0.1) and the admin client certificate in ``system:masters``, which
every component and the tests use. A separate key pair signs service-account tokens. ECDSA P-256 keys
keep generation instant, so every cluster gets fresh material and nothing secret is cached on disk.
"""

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=7)
_SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class CertKey:
    """A PEM certificate with its PEM private key."""

    cert: bytes
    key: bytes


@dataclass(frozen=True)
class ClusterPki:
    """Everything the control plane needs to authenticate its parts to each other."""

    ca: CertKey
    serving: CertKey
    admin: CertKey
    sa_public: bytes
    sa_private: bytes


@dataclass(frozen=True)
class PkiFiles:
    """Paths of the written PKI, as the components' flags want them."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public: Path
    sa_private: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    # Back-date a little so a clock step between generation and use cannot make the cert "not yet valid".
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + _VALIDITY)
    )


def _leaf(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Name],
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> CertKey:
    ca_key, ca_name = ca
    key = _new_key()
    builder = (
        _builder(subject, ca_name, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return CertKey(cert=cert.public_bytes(serialization.Encoding.PEM), key=_key_pem(key))


def generate_pki(*, service_ip: str) -> ClusterPki:
    """Fresh PKI; ``service_ip`` is the first address of the Service range (the ``kubernetes`` Service)."""
    ca_key = _new_key()
    ca_name = _name("kyma-istio-dev-ca")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in _SERVING_DNS_NAMES]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", service_ip)]
    sa_key = _new_key()
    return ClusterPki(
        ca=CertKey(cert=ca_cert.public_bytes(serialization.Encoding.PEM), key=_key_pem(ca_key)),
        serving=_leaf((ca_key, ca_name), _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans),
        admin=_leaf((ca_key, ca_name), _name("admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH),
        sa_public=sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        sa_private=_key_pem(sa_key),
    )


def issue_serving_cert(ca: CertKey, dns_names: Sequence[str], ips: Sequence[str] = ()) -> CertKey:
    """A serving certificate for ``dns_names`` (and ``ips``) signed by ``ca`` (for stand-ins of
    in-cluster servers, and the fault proxy on loopback)."""
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the CA key is not an ECDSA key made by generate_pki")
    ca_name = x509.load_pem_x509_certificate(ca.cert).subject
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    return _leaf((ca_key, ca_name), _name(dns_names[0]), ExtendedKeyUsageOID.SERVER_AUTH, sans)


def read_ca(files: PkiFiles) -> CertKey:
    """The CA of a written PKI, to issue more certificates from."""
    return CertKey(cert=files.ca_cert.read_bytes(), key=files.ca_key.read_bytes())


def pki_files(directory: Path) -> PkiFiles:
    """Where :func:`write_pki` puts each file in ``directory``."""
    return PkiFiles(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "serving.crt",
        serving_key=directory / "serving.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        sa_public=directory / "sa.pub",
        sa_private=directory / "sa.key",
    )


def write_pki(pki: ClusterPki, directory: Path) -> PkiFiles:
    """Write the PKI as files readable only by the owner and return their paths."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = pki_files(directory)
    contents = {
        files.ca_cert: pki.ca.cert,
        files.ca_key: pki.ca.key,
        files.serving_cert: pki.serving.cert,
        files.serving_key: pki.serving.key,
        files.admin_cert: pki.admin.cert,
        files.admin_key: pki.admin.key,
        files.sa_public: pki.sa_public,
        files.sa_private: pki.sa_private,
    }
    for path, data in contents.items():
        path.touch(mode=0o600)
        path.write_bytes(data)
    return files
