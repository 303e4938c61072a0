"""python-fido2 client results -> the JSON a browser's ``PublicKeyCredential.toJSON()`` gives.

``RegistrationResponseJSON`` carries, beside ``clientDataJSON`` and ``attestationObject``, what the
browser extracts for the page: ``authenticatorData``, ``publicKey`` (SubjectPublicKeyInfo DER, or
absent for an algorithm the browser cannot express), ``publicKeyAlgorithm`` and ``transports``.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fido2.utils import websafe_encode
from fido2.webauthn import AuthenticationResponse, RegistrationResponse


def spki_der(cose: dict[int, Any]) -> bytes | None:
    """The COSE public key as SubjectPublicKeyInfo DER (ES256/384/512, EdDSA-Ed25519, RS256/PS256)."""
    kty = cose.get(1)
    try:
        key: Any
        if kty == 2:  # EC2
            curve = {1: ec.SECP256R1(), 2: ec.SECP384R1(), 3: ec.SECP521R1()}[cose[-1]]
            x, y = int.from_bytes(cose[-2], "big"), int.from_bytes(cose[-3], "big")
            key = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        elif kty == 1 and cose.get(-1) == 6:  # OKP Ed25519
            key = ed25519.Ed25519PublicKey.from_public_bytes(cose[-2])
        elif kty == 3:  # RSA
            e, n = int.from_bytes(cose[-2], "big"), int.from_bytes(cose[-1], "big")
            key = rsa.RSAPublicNumbers(e, n).public_key()
        else:
            return None
    except (KeyError, ValueError, TypeError):
        return None
    der: bytes = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def _clean_extensions(results: dict[str, Any]) -> dict[str, Any]:
    out = dict(results)
    prf = out.get("prf")
    if isinstance(prf, dict) and isinstance(prf.get("results"), dict):
        # python-fido2 reports an unrequested second PRF output as []; a browser omits it
        res = {k: v for k, v in prf["results"].items() if v not in ([], None, "")}
        out["prf"] = {**prf, "results": res}
    return out


def registration_json(resp: RegistrationResponse, *, transports: list[str],
                      attachment: str) -> dict[str, Any]:
    d = dict(resp)
    att = resp.response.attestation_object
    auth_data = att.auth_data
    cred = auth_data.credential_data
    response = dict(d["response"])
    response["authenticatorData"] = websafe_encode(bytes(auth_data))
    response["transports"] = list(transports)
    if cred is not None:
        response["publicKeyAlgorithm"] = int(cred.public_key[3])
        spki = spki_der(dict(cred.public_key))
        if spki is not None:
            response["publicKey"] = websafe_encode(spki)
    d["response"] = response
    d["authenticatorAttachment"] = attachment
    d["clientExtensionResults"] = _clean_extensions(dict(d.get("clientExtensionResults") or {}))
    return d


def assertion_json(resp: AuthenticationResponse, *, attachment: str) -> dict[str, Any]:
    d = dict(resp)
    d["response"] = dict(d["response"])
    d["authenticatorAttachment"] = attachment
    d["clientExtensionResults"] = _clean_extensions(dict(d.get("clientExtensionResults") or {}))
    return d
