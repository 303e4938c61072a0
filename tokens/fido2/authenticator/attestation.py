"""Attestation: ``none``, ``packed`` self-attestation and ``packed`` with a batch certificate.

The batch certificate is issued by a generated attestation CA and carries what WebAuthn §8.2.1
requires: version 3, subject C / O / OU="Authenticator Attestation" / CN, basicConstraints CA=false
and the id-fido-gen-ce-aaguid extension (1.3.6.1.4.1.45724.1.1.4) holding the AAGUID as an OCTET
STRING.  Relying-party tests use :attr:`BatchAttestation.ca_pem` as their trust anchor.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .keys import Alg, KeyPair
from .models import Subject

OID_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
CA_DAYS = 3650


class AttestationMode(str, Enum):
    NONE = "none"
    SELF = "self"
    BATCH = "batch"


def _name(country: str, organization: str, unit: str, common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class AttestationCA:
    """tokensim's attestation root for one key model: it issues the batch certificates, and a FIDO MDS
    metadata statement lists it in attestationRootCertificates so an MDS-driven RP trusts the batch."""

    private_pem: bytes = field(repr=False)
    cert_der: bytes

    @classmethod
    def generate(cls, subject: Subject, now: datetime.datetime | None = None) -> AttestationCA:
        now = now or _now()
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(subject.country, "tokensim", "Attestation CA",
                     f"tokensim simulated {subject.organization} Attestation Root")
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                               critical=True)
                .sign(key, hashes.SHA256()))
        return cls(_pem(key), cert.public_bytes(serialization.Encoding.DER))

    def issue(self, aaguid: bytes, subject: Subject,
              now: datetime.datetime | None = None) -> BatchAttestation:
        """A batch key and its certificate (WebAuthn §8.2.1 shape, the model's subject)."""
        now = now or _now()
        ca_key = serialization.load_pem_private_key(self.private_pem, password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca = x509.load_der_x509_certificate(self.cert_der)
        key = ec.generate_private_key(ec.SECP256R1())
        serial = int.from_bytes(os.urandom(4), "big") % 900_000_000 + 100_000_000
        leaf = (x509.CertificateBuilder()
                .subject_name(_name(subject.country, subject.organization, subject.unit,
                                    subject.common_name.format(serial=serial)))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.UnrecognizedExtension(OID_AAGUID, b"\x04\x10" + aaguid), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return BatchAttestation(_pem(key), leaf.public_bytes(serialization.Encoding.DER), self.cert_der)

    @property
    def ca_pem(self) -> bytes:
        return x509.load_der_x509_certificate(self.cert_der).public_bytes(serialization.Encoding.PEM)

    def to_dict(self) -> dict[str, str]:
        return {"private_pem": self.private_pem.decode(), "cert": self.cert_der.hex()}

    @classmethod
    def from_dict(cls, d: Mapping[str, str]) -> AttestationCA:
        return cls(d["private_pem"].encode(), bytes.fromhex(d["cert"]))


@dataclass(frozen=True)
class BatchAttestation:
    """A batch attestation key and its certificate chain (leaf DER, CA DER)."""

    private_pem: bytes = field(repr=False)
    cert_der: bytes
    ca_der: bytes

    @classmethod
    def generate(cls, aaguid: bytes, now: datetime.datetime | None = None) -> BatchAttestation:
        """A batch certificate from a new tokensim CA (generic model subject)."""
        from .models import GENERIC

        return AttestationCA.generate(GENERIC.subject, now).issue(aaguid, GENERIC.subject, now)

    @property
    def ca_pem(self) -> bytes:
        return x509.load_der_x509_certificate(self.ca_der).public_bytes(serialization.Encoding.PEM)

    def sign(self, message: bytes) -> bytes:
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key.sign(message, ec.ECDSA(hashes.SHA256()))

    def to_dict(self) -> dict[str, str]:
        return {"private_pem": self.private_pem.decode(), "cert": self.cert_der.hex(),
                "ca": self.ca_der.hex()}

    @classmethod
    def from_dict(cls, d: Mapping[str, str]) -> BatchAttestation:
        return cls(d["private_pem"].encode(), bytes.fromhex(d["cert"]), bytes.fromhex(d["ca"]))


def statement(mode: AttestationMode, auth_data: bytes, client_data_hash: bytes, key: KeyPair,
              batch: BatchAttestation | None) -> tuple[str, dict[str, Any]]:
    """(fmt, attStmt) for a new credential."""
    if mode is AttestationMode.NONE:
        return "none", {}
    message = auth_data + client_data_hash
    if mode is AttestationMode.SELF or batch is None:
        return "packed", {"alg": int(key.alg), "sig": key.sign(message)}
    return "packed", {"alg": int(Alg.ES256), "sig": batch.sign(message), "x5c": [batch.cert_der]}
