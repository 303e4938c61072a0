"""Factory provisioning of simulated tokens and the vendor-style PSKC (RFC 6030) seed file.

Hardware-token vendors ship a batch of tokens with a PSKC file holding each token's seed,
serial number and OTP parameters, optionally encrypted with a pre-shared key (AES-128-CBC with
an HMAC-SHA256 MAC).  Here the seeds are installed through the real wire protocol (the driver
over an in-process loopback), then written with python-pskc.

Key identifiers: slot 0 of a token is keyed by the token's serial number; other slots by
``SERIAL-SLOT``.  Every KeyPackage carries DeviceInfo (Manufacturer, SerialNo, Model) whose SerialNo
is that same identifier, because verifiers register one credential per serial number: each slot of
a multi-slot token is a credential of its own.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

from hw.token import SerialToken
from tokens.fileutil import atomic_write
from tokens.otp import Algorithm, random_secret
from tokens.params import OtpParams, OtpType

from .errors import SimConfigError
from .firmware import Firmware
from .loopback import LoopbackPort

MANUFACTURER = "tokensim"
TOTP_URN = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
HOTP_URN = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"


@dataclass(frozen=True)
class ProvisionedKey:
    """One provisioned slot: the token's serial, the slot and the credential installed there."""

    serial: str
    slot: int
    params: OtpParams
    model: str = ""

    @property
    def secret(self) -> bytes:
        return self.params.secret

    @property
    def key_id(self) -> str:
        return self.serial if self.slot == 0 else f"{self.serial}-{self.slot}"


def provision_slots(fw: Firmware, count: int, *, type: str = "totp", algorithm: Algorithm | str = "SHA1",
                    digits: int = 6, period: int = 30,
                    pin: bytes | str | None = None) -> list[ProvisionedKey]:
    """Install random seeds in slots 0..count-1 of ``fw`` over the wire protocol."""
    if not 0 <= count <= fw.config.slots:
        raise SimConfigError(f"cannot provision {count} slots on a token with {fw.config.slots}")
    alg = Algorithm.parse(algorithm)
    otype = OtpType.parse(type)
    tok = SerialToken(LoopbackPort(fw), pin=pin if pin is not None else fw.config.pin)
    out = []
    try:
        for slot in range(count):
            params = OtpParams(otype, random_secret(alg.digest_size), alg, digits,
                               period if otype is OtpType.TOTP else 30)
            tok.provision_params(slot, params)
            out.append(ProvisionedKey(fw.serial, slot, params, model=fw.config.model))
    finally:
        tok.close()
    return out


def pskc_bytes(keys: Sequence[ProvisionedKey], *, psk: bytes | None = None, psk_name: str = "Pre-shared-key",
               manufacturer: str = MANUFACTURER) -> bytes:
    """The PSKC document; ``psk`` (16/24/32 bytes) encrypts the seeds (AES-CBC + HMAC-SHA256 MAC)."""
    import pskc

    doc = pskc.PSKC()
    if psk is not None:
        if len(psk) not in (16, 24, 32):
            raise SimConfigError("the pre-shared key must be 16, 24 or 32 bytes")
        algo = {16: "aes128-cbc", 24: "aes192-cbc", 32: "aes256-cbc"}[len(psk)]
        doc.encryption.setup_preshared_key(key=psk, key_name=psk_name, algorithm=algo)
    for k in keys:
        p = k.params
        kw: dict[str, str | bytes | int | None] = dict(
            id=k.key_id, manufacturer=manufacturer, serial=k.key_id, model=k.model or None,
            algorithm=TOTP_URN if p.is_totp else HOTP_URN, algorithm_suite=f"HMAC-{p.algorithm.value}",
            secret=p.secret, response_length=p.digits, response_encoding="DECIMAL",
            issuer=manufacturer)
        if p.is_totp:
            kw.update(time_interval=p.period, time_offset=0)
        else:
            kw.update(counter=p.counter)
        doc.add_key(**kw)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def write_pskc(path: str | os.PathLike[str], keys: Sequence[ProvisionedKey], *, psk: bytes | None = None,
               psk_name: str = "Pre-shared-key") -> None:
    """Write the PSKC file atomically with mode 0600 (it holds seeds)."""
    atomic_write(path, pskc_bytes(keys, psk=psk, psk_name=psk_name))
