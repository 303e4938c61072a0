"""CBOR map keys of CTAP 2.1 requests that python-fido2 has no enum for, and a typed response builder.

Response keys come from python-fido2's own records (``Info``, ``AttestationResponse``,
``AssertionResponse``): :func:`response` looks a field's integer key up on the record class, so no
handler writes a bare number.  Sub-command and result keys reuse python-fido2's enums
(``ClientPin.CMD/RESULT``, ``CredentialManagement.CMD/PARAM/RESULT``, ``Config.CMD/PARAM``).
"""

from __future__ import annotations

from dataclasses import fields
from enum import IntEnum, unique
from functools import cache
from typing import Any

from fido2.ctap2.base import _CborDataObject


@unique
class MakeCredentialParam(IntEnum):
    CLIENT_DATA_HASH = 0x01
    RP = 0x02
    USER = 0x03
    PUB_KEY_CRED_PARAMS = 0x04
    EXCLUDE_LIST = 0x05
    EXTENSIONS = 0x06
    OPTIONS = 0x07
    PIN_UV_AUTH_PARAM = 0x08
    PIN_UV_AUTH_PROTOCOL = 0x09
    ENTERPRISE_ATTESTATION = 0x0A


@unique
class GetAssertionParam(IntEnum):
    RP_ID = 0x01
    CLIENT_DATA_HASH = 0x02
    ALLOW_LIST = 0x03
    EXTENSIONS = 0x04
    OPTIONS = 0x05
    PIN_UV_AUTH_PARAM = 0x06
    PIN_UV_AUTH_PROTOCOL = 0x07


@unique
class ClientPinParam(IntEnum):
    PIN_UV_AUTH_PROTOCOL = 0x01
    SUB_COMMAND = 0x02
    KEY_AGREEMENT = 0x03
    PIN_UV_AUTH_PARAM = 0x04
    NEW_PIN_ENC = 0x05
    PIN_HASH_ENC = 0x06
    PERMISSIONS = 0x09
    RP_ID = 0x0A


@unique
class SubCommandParam(IntEnum):
    """The envelope shared by credentialManagement, bioEnrollment-less config: (sub, params, proto, param)."""

    SUB_COMMAND = 0x01
    SUB_COMMAND_PARAMS = 0x02
    PIN_UV_AUTH_PROTOCOL = 0x03
    PIN_UV_AUTH_PARAM = 0x04


@unique
class BioEnrollmentParam(IntEnum):
    MODALITY = 0x01
    SUB_COMMAND = 0x02
    SUB_COMMAND_PARAMS = 0x03
    PIN_UV_AUTH_PROTOCOL = 0x04
    PIN_UV_AUTH_PARAM = 0x05
    GET_MODALITY = 0x06


@unique
class LargeBlobsParam(IntEnum):
    GET = 0x01
    SET = 0x02
    OFFSET = 0x03
    LENGTH = 0x04
    PIN_UV_AUTH_PARAM = 0x05
    PIN_UV_AUTH_PROTOCOL = 0x06


@unique
class LargeBlobsResult(IntEnum):
    CONFIG = 0x01


@unique
class HmacSecretParam(IntEnum):
    KEY_AGREEMENT = 0x01
    SALT_ENC = 0x02
    SALT_AUTH = 0x03
    PIN_UV_AUTH_PROTOCOL = 0x04


@cache
def _keys(record: type[_CborDataObject]) -> dict[str, int]:
    return {f.name: record._get_field_key(f) for f in fields(record)}


def response(record: type[_CborDataObject], **values: Any) -> dict[int, Any]:
    """A response map keyed like python-fido2's ``record`` (fields given as None are left out)."""
    keys = _keys(record)
    return {keys[name]: value for name, value in values.items() if value is not None}
