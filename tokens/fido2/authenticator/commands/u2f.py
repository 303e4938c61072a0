"""U2F / CTAP1 over CTAPHID MSG: REGISTER, AUTHENTICATE and VERSION APDUs for legacy relying parties.

Key handles are the same wrapped credential IDs as CTAP2 non-resident credentials (ES256, bound to the
application parameter), so a key registered over U2F also works through CTAP2 getAssertion with the
appid's hash.  The registration is signed with the batch attestation key when there is one, else with a
per-session self-signed certificate (U2F always needs an attestation certificate).
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Callable
from enum import IntEnum, unique

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ...errors import CtapStatus
from ..checks import UserChecks
from ..credentials import CredentialRecord, wrap
from ..keys import Alg, generate
from ..state import AuthenticatorState
from ..store import CredentialStore


class SW(IntEnum):
    OK = 0x9000
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_DATA = 0x6A80
    WRONG_LENGTH = 0x6700
    CLA_NOT_SUPPORTED = 0x6E00
    INS_NOT_SUPPORTED = 0x6D00


def _sw(code: SW, data: bytes = b"") -> bytes:
    return data + struct.pack(">H", code)


def _parse(apdu: bytes) -> tuple[int, int, int, bytes] | None:
    """(cla, ins, p1, data) of a short or extended-length APDU; None if malformed."""
    if len(apdu) < 4:
        return None
    cla, ins, p1 = apdu[0], apdu[1], apdu[2]
    body = apdu[4:]
    if not body:
        return cla, ins, p1, b""
    if body[0] == 0 and len(body) >= 3:  # extended length
        lc = struct.unpack(">H", body[1:3])[0]
        data = body[3:3 + lc]
        return (cla, ins, p1, data) if len(data) == lc else None
    lc = body[0]
    data = body[1:1 + lc]
    return (cla, ins, p1, data) if len(data) == lc else None


@unique
class Ins(IntEnum):
    REGISTER = 0x01
    AUTHENTICATE = 0x02
    VERSION = 0x03


@unique
class Control(IntEnum):
    """AUTHENTICATE's P1."""

    CHECK_ONLY = 0x07
    ENFORCE_PRESENCE = 0x03
    DONT_ENFORCE_PRESENCE = 0x08


class U2F:
    def __init__(self, state: AuthenticatorState, store: CredentialStore, checks: UserChecks,
                 now: Callable[[], float]) -> None:
        self.state, self.store, self.checks, self.now = state, store, checks, now
        self._cert: tuple[bytes, ec.EllipticCurvePrivateKey] | None = None

    def _attestation(self) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
        batch = self.state.batch
        if batch is not None:
            key = serialization.load_pem_private_key(batch.private_pem, password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return batch.cert_der, key
        if self._cert is None:
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokensim U2F")])
            now = datetime.datetime.fromtimestamp(self.now(), datetime.UTC)  # the injected clock
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(days=1))
                    .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
            self._cert = (cert.public_bytes(serialization.Encoding.DER), key)
        return self._cert

    def process(self, apdu: bytes) -> bytes:
        parsed = _parse(apdu)
        if parsed is None:
            return _sw(SW.WRONG_LENGTH)
        cla, ins, p1, data = parsed
        if cla != 0:
            return _sw(SW.CLA_NOT_SUPPORTED)
        if self.state.always_uv and ins in (Ins.REGISTER, Ins.AUTHENTICATE):
            return _sw(SW.INS_NOT_SUPPORTED)  # alwaysUv: CTAP1/U2F is switched off (CTAP 2.1 §6.11.2)
        try:
            if ins == Ins.REGISTER:
                return self._register(data)
            if ins == Ins.AUTHENTICATE:
                return self._authenticate(p1, data)
            if ins == Ins.VERSION:
                return _sw(SW.OK, b"U2F_V2")
        except CtapStatus:  # user presence not given: the client polls again
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        return _sw(SW.INS_NOT_SUPPORTED)

    def _register(self, data: bytes) -> bytes:
        if len(data) != 64:
            return _sw(SW.WRONG_LENGTH)
        challenge, app = data[:32], data[32:]
        self.checks.user_presence(None, None)
        key = generate(Alg.ES256)
        cred = wrap(self.state.master_key, CredentialRecord(b"", app, Alg.ES256, key.private))
        kh = cred.credential_id
        pub = b"\x04" + key.cose[-2] + key.cose[-3]
        cert, att_key = self._attestation()
        sig = att_key.sign(b"\x00" + app + challenge + kh + pub, ec.ECDSA(hashes.SHA256()))
        self.store.mark_dirty()
        return _sw(SW.OK, b"\x05" + pub + bytes([len(kh)]) + kh + cert + sig)

    def _authenticate(self, p1: int, data: bytes) -> bytes:
        if len(data) < 65 or len(data) != 65 + data[64]:
            return _sw(SW.WRONG_LENGTH)
        challenge, app, kh = data[:32], data[32:64], data[65:]
        cred = self.store.find(kh, app)
        # U2F has no user verification: credProtect=3 (userVerificationRequired) credentials are out, and
        # so are key handles of non-ECDSA-P256 credentials, whose signatures a U2F RP cannot check
        if cred is None or cred.cred_protect == 3 or cred.alg is not Alg.ES256:
            return _sw(SW.WRONG_DATA)
        if p1 == Control.CHECK_ONLY:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        up = p1 != Control.DONT_ENFORCE_PRESENCE
        if up:
            self.checks.user_presence(None, None)
        counter = self.store.counter(kh, bump=True)
        flags = 0x01 if up else 0x00
        body = bytes([flags]) + struct.pack(">I", counter)
        sig = self.store.keypair(cred).sign(app + body + challenge)
        return _sw(SW.OK, body + sig)
