"""The generated PKI: what each certificate is for, who signed it, and what it may be used as."""

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kyma_istio.devenv import pki


@pytest.fixture(scope="module")
def generated() -> pki.ClusterPki:
    return pki.generate_pki(service_ip="10.96.0.1")


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def test_the_serving_cert_names_loopback_and_the_kubernetes_service(generated: pki.ClusterPki) -> None:
    sans = _cert(generated.serving.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert {"localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} <= set(
        sans.get_values_for_type(x509.DNSName)
    )
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.96.0.1"),
    }


def test_the_admin_cert_is_a_client_cert_in_system_masters(generated: pki.ClusterPki) -> None:
    admin = _cert(generated.admin.cert)

    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    usages = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_every_leaf_is_signed_by_the_ca(generated: pki.ClusterPki) -> None:
    ca = _cert(generated.ca.cert)

    for leaf in (generated.serving, generated.admin):
        _cert(leaf.cert).verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_service_account_keys_are_one_pair(generated: pki.ClusterPki) -> None:
    private = serialization.load_pem_private_key(generated.sa_private, password=None)

    derived = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert derived == generated.sa_public


def test_written_files_are_readable_by_the_owner_only(generated: pki.ClusterPki, tmp_path: Path) -> None:
    files = pki.write_pki(generated, tmp_path / "pki")

    assert files == pki.pki_files(tmp_path / "pki")
    assert files.admin_key.read_bytes() == generated.admin.key
    for path in (tmp_path / "pki").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
