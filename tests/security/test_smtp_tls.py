"""STARTTLS verifies the mail server's certificate (a test CA and aiosmtpd with STARTTLS).

Before: ``starttls()`` ran without a context, so any certificate was accepted and a
machine in the middle could read every email.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from data.settings import SettingsError, load_settings
from playbooks import create_playbook, dispatch_due, list_outbox, trigger_manual
from tests.support.outbound_servers import SmtpRecorder
from tests.support.workspaces import build_workspace


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_pki(folder, server_names: list[x509.GeneralName]):
    """A CA (PEM file) and a server certificate it signed for ``server_names``; returns (ca_pem, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name("CSAI test CA")).issuer_name(_name("CSAI test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("mail.test")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(server_names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem = folder / "test-ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_pem, key_pem = folder / "server.pem", folder / "server.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


def _tls_server(tmp_path, names):
    ca_pem, cert_pem, key_pem = _make_pki(tmp_path, names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_pem, key_pem)
    return ca_pem, SmtpRecorder(tls_context=context)


@pytest.fixture()
def tls_server(tmp_path):
    ca_pem, server = _tls_server(tmp_path, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    try:
        yield ca_pem, server
    finally:
        server.stop()


def _mail_once(ws) -> None:
    pb = create_playbook(ws.engine, "manager", name="Internal mail", steps=[
        {"type": "email", "to": "ops@vendor.example", "subject": "{{ account.name }} at risk", "body": "See app."}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")


def _smtp_env(server, **extra) -> dict:
    return {"csai_smtp_host": "127.0.0.1", "csai_smtp_port": str(server.port), "csai_smtp_tls": "true", **extra}


def test_starttls_with_the_private_ca_delivers(tmp_path, tls_server):
    ca_pem, server = tls_server
    ws = build_workspace(tmp_path / "ws", n=2, **_smtp_env(server, csai_smtp_ca_file=str(ca_pem)))
    _mail_once(ws)
    assert dispatch_due(ws.engine, ws.settings).delivered == 1
    (message,) = server.messages
    assert message["Subject"] == "Company 1 at risk"


def test_starttls_without_the_ca_fails_with_a_certificate_message(tmp_path, tls_server):
    _, server = tls_server
    ws = build_workspace(tmp_path / "ws", n=2, **_smtp_env(server))
    _mail_once(ws)

    report = dispatch_due(ws.engine, ws.settings)

    assert (report.delivered, report.failed) == (0, 1)
    assert server.messages == []
    row = list_outbox(ws.engine).iloc[0]
    assert row["status"] == "failed"
    assert "certificate of mail server 127.0.0.1" in row["last_error"] and "could not be verified" in row["last_error"]
    assert "CSAI_SMTP_CA_FILE" in row["last_error"]


def test_starttls_refuses_a_certificate_for_another_host(tmp_path):
    ca_pem, server = _tls_server(tmp_path, [x509.DNSName("mail.elsewhere.example")])
    try:
        ws = build_workspace(tmp_path / "ws", n=2, **_smtp_env(server, csai_smtp_ca_file=str(ca_pem)))
        _mail_once(ws)
        assert dispatch_due(ws.engine, ws.settings).failed == 1
        assert server.messages == []
        assert "could not be verified" in list_outbox(ws.engine)["last_error"].iloc[0]
    finally:
        server.stop()


def test_a_missing_ca_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="CSAI_SMTP_CA_FILE=.* is not a file"):
        load_settings(tmp_path / "ws", environ={"CSAI_SMTP_CA_FILE": str(tmp_path / "nope.pem")})
