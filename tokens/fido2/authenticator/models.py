"""Key models: what a simulated authenticator says about itself and the quirks it has.

A :class:`Model` fixes the AAGUID, the getInfo answer (versions, extensions, options, algorithms,
limits, firmware version, transports), the shape of the attestation certificate subject and the
documented quirks of a real key family, from public facts: the FIDO Metadata Service entries, the
vendors' AAGUID lists (Yubico: yubi.co/aaguids) and their getInfo documentation, and published
CTAP2 test-tool reports.  ``generic`` is tokensim's own model (a fresh AAGUID per authenticator) and
behaves as a YubiKey 5 wherever keys differ (e.g. getPINRetries with no PIN set).

Fields the simulator cannot back are left out rather than claimed: a model never advertises a
command or extension tokensim does not implement (see docs/fido2.md, "Models").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .keys import Alg
from .limits import (
    CAPACITY,
    MAX_CRED_BLOB,
    MAX_CRED_ID_LENGTH,
    MAX_CREDS_IN_LIST,
    MAX_LARGE_BLOB,
    MAX_MSG_SIZE,
    MAX_RPIDS_FOR_MIN_PIN,
)


@dataclass(frozen=True)
class Subject:
    """The attestation certificate subject shape: C, O, OU and a CN pattern ({serial})."""

    country: str
    organization: str
    common_name: str
    unit: str = "Authenticator Attestation"


@dataclass(frozen=True)
class Model:
    name: str
    description: str  # the FIDO MDS description
    aaguid: uuid.UUID | None  # None: a fresh one per authenticator
    vendor: str
    subject: Subject
    firmware_version: int  # getInfo 0x0E
    authenticator_version: int  # MDS authenticatorVersion
    versions: tuple[str, ...] = ("U2F_V2", "FIDO_2_0", "FIDO_2_1")
    extensions: tuple[str, ...] = ("credBlob", "credProtect", "hmac-secret", "largeBlobKey", "minPinLength")
    algorithms: tuple[Alg, ...] = (Alg.ES256, Alg.EDDSA)
    transports: tuple[str, ...] = ("usb",)
    max_msg_size: int = MAX_MSG_SIZE
    max_creds_in_list: int = MAX_CREDS_IN_LIST
    max_cred_id_length: int = MAX_CRED_ID_LENGTH
    max_cred_blob: int = MAX_CRED_BLOB
    max_large_blob: int = MAX_LARGE_BLOB  # 0: no largeBlobs
    max_rpids_for_min_pin: int = MAX_RPIDS_FOR_MIN_PIN
    capacity: int = CAPACITY
    pin_uv_protocols: tuple[int, ...] = (2, 1)
    credential_mgmt_preview: bool = True  # also advertise credentialMgmtPreview (0x41)
    make_cred_uv_not_required: bool = True
    built_in_uv: bool = False  # a finger is enrolled at creation (uvModality fingerprint)
    bio_enroll: bool = False  # a fingerprint sensor that authenticatorBioEnrollment manages
    preferred_platform_uv_attempts: int = 0
    config: bool = True  # authenticatorConfig (authnrCfg, alwaysUv, setMinPINLength); CTAP 2.1 models
    enterprise_attestation: bool = True  # "ep" (needs batch attestation: the enterprise cert is issued then)
    # quirks
    pin_not_set_on_get_retries: bool = True  # getPINRetries without a PIN -> PIN_NOT_SET (YubiKey 5)
    force_change_pin_invalid: bool = True  # a token refused while forcePINChange is set -> PIN_INVALID
    notes: tuple[str, ...] = field(default=())

    @property
    def u2f(self) -> bool:
        return "U2F_V2" in self.versions

    @property
    def ctap21(self) -> bool:
        return "FIDO_2_1" in self.versions

    @property
    def enterprise_subject(self) -> Subject:
        """Enterprise attestation certificates identify the one device (CN carries a unique serial)."""
        return Subject(self.subject.country, self.subject.organization,
                       self.subject.common_name.replace("{serial}", "Enterprise {serial}"), self.subject.unit)


UV_FINGERPRINT = 0x02  # FIDO Registry USER_VERIFY_FINGERPRINT_INTERNAL

GENERIC = Model(
    name="generic", description="tokensim software FIDO2 authenticator", aaguid=None, vendor="tokensim",
    subject=Subject("SE", "tokensim", "tokensim Batch {serial}"), firmware_version=1, authenticator_version=1,
    extensions=("credBlob", "credProtect", "hmac-secret", "hmac-secret-mc", "largeBlobKey", "minPinLength"),
    algorithms=(Alg.ES256, Alg.EDDSA, Alg.ES384, Alg.ES512, Alg.RS256, Alg.PS256), bio_enroll=True,
    preferred_platform_uv_attempts=3,
    notes=("tokensim's own model; behaves as a YubiKey 5 where keys differ",),
)

YUBIKEY5 = Model(
    name="yubikey5", description="YubiKey 5 Series with NFC", vendor="Yubico",
    aaguid=uuid.UUID("a25342c0-3cdc-4414-8e46-f4807fca511c"),  # yubi.co/aaguids: 5 NFC, firmware 5.7
    subject=Subject("SE", "Yubico AB", "Yubico U2F EE Serial {serial}"),
    firmware_version=0x050704, authenticator_version=50704,
    versions=("U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"),
    extensions=("credProtect", "hmac-secret", "largeBlobKey", "credBlob", "minPinLength"),
    transports=("nfc", "usb"), max_msg_size=1280, max_large_blob=4096, capacity=100,
    max_rpids_for_min_pin=1, make_cred_uv_not_required=False,
    notes=("getPINRetries answers PIN_NOT_SET while no PIN is set",
           "100 discoverable credential slots (firmware 5.7; 25 before)"),
)

YUBIKEY5_FW54 = Model(
    name="yubikey5-fw54", description="YubiKey 5 Series with NFC", vendor="Yubico",
    aaguid=uuid.UUID("2fc0579f-8113-47ea-b116-bb5a8db9202a"),  # yubi.co/aaguids: 5 NFC, firmware 5.2/5.4
    subject=Subject("SE", "Yubico AB", "Yubico U2F EE Serial {serial}"),
    firmware_version=0x050403, authenticator_version=50403,
    versions=("U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"),
    extensions=("credProtect", "hmac-secret", "largeBlobKey", "credBlob", "minPinLength"),
    transports=("nfc", "usb"), max_msg_size=1200, max_large_blob=1024, capacity=25,
    max_rpids_for_min_pin=1, pin_uv_protocols=(1,), make_cred_uv_not_required=False, config=False,
    enterprise_attestation=False,
    notes=("CTAP 2.1-preview: credential management as credentialMgmtPreview (command 0x41)",
           "getPINRetries answers PIN_NOT_SET while no PIN is set"),
)

YUBIKEY_BIO = Model(
    name="yubikey-bio", description="YubiKey Bio Series - FIDO Edition", vendor="Yubico",
    aaguid=uuid.UUID("d8522d9f-575b-4866-88a9-ba99fa02f35b"),  # yubi.co/aaguids: Bio FIDO Edition
    subject=Subject("SE", "Yubico AB", "Yubico U2F EE Serial {serial}"),
    firmware_version=0x050600, authenticator_version=50600,
    versions=("U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"),
    extensions=("credProtect", "hmac-secret", "largeBlobKey", "credBlob", "minPinLength"),
    max_msg_size=1280, max_large_blob=1024, capacity=25, max_rpids_for_min_pin=1,
    make_cred_uv_not_required=False, built_in_uv=True, bio_enroll=True, preferred_platform_uv_attempts=3,
    notes=("built-in fingerprint UV; the finger is enrolled when the authenticator is created "
           "(bioEnrollment is not simulated)",),
)

SOLO = Model(
    name="solo", description="Solo Secp256R1 FIDO2 CTAP2 Authenticator", vendor="SoloKeys",
    aaguid=uuid.UUID("8876631b-d4a0-427f-5773-0ec71c9e0279"),  # FIDO MDS / solokeys/solo metadata
    subject=Subject("US", "SoloKeys", "Solo {serial}"), firmware_version=0x040001, authenticator_version=2,
    versions=("U2F_V2", "FIDO_2_0"), extensions=("credProtect", "hmac-secret"), algorithms=(Alg.ES256,),
    max_msg_size=1200, max_large_blob=0, capacity=50, pin_uv_protocols=(1,), credential_mgmt_preview=False,
    pin_not_set_on_get_retries=False, config=False, enterprise_attestation=False,
    notes=("CTAP 2.0 key: no credential management, large blobs, credBlob or minPinLength",
           "getPINRetries answers the retry count even without a PIN"),
)

FEITIAN = Model(
    name="feitian", description="Feitian ePass FIDO2 Authenticator", vendor="Feitian",
    aaguid=uuid.UUID("833b721a-ff5f-4d00-bb2e-bdda3ec01e29"),  # FIDO MDS / CTAP2 test-tool report
    subject=Subject("CN", "Feitian Technologies", "FT FIDO {serial}"), firmware_version=0x0100,
    authenticator_version=1, versions=("U2F_V2", "FIDO_2_0"), extensions=("credProtect", "hmac-secret"),
    algorithms=(Alg.ES256,), max_msg_size=1200, max_large_blob=0, capacity=50, pin_uv_protocols=(1,),
    credential_mgmt_preview=False, pin_not_set_on_get_retries=False, config=False,
    enterprise_attestation=False,
    notes=("CTAP 2.0 key: no credential management, large blobs, credBlob or minPinLength",),
)

MODELS: dict[str, Model] = {m.name: m for m in (GENERIC, YUBIKEY5, YUBIKEY5_FW54, YUBIKEY_BIO, SOLO, FEITIAN)}
DEFAULT = GENERIC


def get(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown authenticator model {name!r} (expected one of {', '.join(MODELS)})") \
            from None
