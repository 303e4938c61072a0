"""Play the browser: turn an RP's WebAuthn options JSON into the response JSON a browser would post.

``create(device, options, origin)`` runs ``navigator.credentials.create`` and ``get(...)`` runs
``navigator.credentials.get`` through python-fido2's ``Fido2Client`` against any ``CtapDevice``, so a
relying party written in any language can be tested from a shell script::

    curl -s https://rp.test/register/begin | tokensim fido2 register qa --options - | \\
        curl -s -d @- https://rp.test/register/finish

``options`` is the ``PublicKeyCredentialCreationOptions`` / ``...RequestOptions`` JSON, either bare
or wrapped as ``{"publicKey": {...}}`` (what ``Fido2Server.register_begin`` returns).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from fido2.client import ClientError, DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapDevice
from fido2.webauthn import PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions

from ...errors import InputError
from ..errors import Fido2Error


class _FixedPin(UserInteraction):
    def __init__(self, pin: str | None) -> None:
        self.pin = pin

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        return self.pin

    def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
        return True


def parse_options(text: str) -> Mapping[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"options are not JSON: {e}") from None
    if isinstance(doc, dict) and isinstance(doc.get("publicKey"), dict):
        doc = doc["publicKey"]
    if not isinstance(doc, dict):
        raise InputError("options must be a JSON object (PublicKeyCredential*Options)")
    return doc


def _client(device: CtapDevice, origin: str, pin: str | None, interaction: Any = None) -> Fido2Client:
    if not origin.startswith(("https://", "http://localhost")):
        raise InputError(f"origin must be https:// (or http://localhost), not {origin!r}")
    if interaction is not None:  # asked only when the authenticator wants a PIN (the CLI's chain)
        from ...open.interaction import as_fido2

        ui = as_fido2(interaction)
    else:
        ui = _FixedPin(pin)
    return Fido2Client(device, DefaultClientDataCollector(origin), user_interaction=ui)


#: what python-fido2 raises while parsing an authenticator's answer it cannot make sense of
MALFORMED = (ValueError, KeyError, TypeError, IndexError, struct.error)


def _fail(what: str, e: ClientError) -> Fido2Error:
    cause = f": {e.cause}" if e.cause is not None else ""
    return Fido2Error(f"{what} failed: {e.code.name}{cause}")


def create(device: CtapDevice, options: Mapping[str, Any], origin: str | None = None,
           pin: str | None = None, *, interaction: Any = None) -> dict[str, Any]:
    try:
        opts = PublicKeyCredentialCreationOptions.from_dict(options)
    except (TypeError, ValueError, KeyError) as e:
        raise InputError(f"not PublicKeyCredentialCreationOptions: {e}") from None
    client = _client(device, origin or f"https://{opts.rp.id}", pin, interaction)
    try:
        return dict(client.make_credential(opts))
    except ClientError as e:
        raise _fail("navigator.credentials.create", e) from None
    except InputError:  # the user's side (e.g. no PIN to be had): its own one-line message
        raise
    except MALFORMED as e:  # the authenticator answered something python-fido2 cannot parse
        raise Fido2Error(f"navigator.credentials.create failed: malformed authenticator response: {e}") \
            from None


def get(device: CtapDevice, options: Mapping[str, Any], origin: str | None = None,
        pin: str | None = None, *, interaction: Any = None) -> dict[str, Any]:
    try:
        opts = PublicKeyCredentialRequestOptions.from_dict(options)
    except (TypeError, ValueError, KeyError) as e:
        raise InputError(f"not PublicKeyCredentialRequestOptions: {e}") from None
    if not opts.rp_id and not origin:
        raise InputError("options carry no rpId: pass the origin")
    client = _client(device, origin or f"https://{opts.rp_id}", pin, interaction)
    try:
        return dict(client.get_assertion(opts).get_response(0))
    except ClientError as e:
        raise _fail("navigator.credentials.get", e) from None
    except InputError:  # the user's side (e.g. no PIN to be had): its own one-line message
        raise
    except MALFORMED as e:  # e.g. FlagOverride(set_flags=AT|ED) without the data those flags announce
        raise Fido2Error(f"navigator.credentials.get failed: malformed authenticator response: {e}") from None
