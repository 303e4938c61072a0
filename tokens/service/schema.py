"""The request bodies of the service, declared once: the handlers validate with these models and
``/openapi.json`` describes them from the same declarations, with every limit taken from the
library (digits from :mod:`tokens.otp`, kinds/algorithms/reasons from the enums).

    body = CHECK.read(doc, trust_time=False)      # -> {"serial": ..., "code": ..., "at": None}
    CHECK.openapi()                                # -> the JSON schema of the same rules
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..otp import MAX_DIGITS, MIN_DIGITS, Algorithm
from ..verifier.model import Kind
from ._http import ApiError

MAX_PERIOD = 86400  # tokens.otp.check_period's upper bound (tests/service check they agree)
MAX_COUNTER = 2**63 - 1
MAX_SERIAL = 256


@dataclass(frozen=True)
class Field:
    """One property: its JSON type and limits.  ``kind`` is string, code, integer or time."""

    name: str
    kind: str
    required: bool = False
    default: Any = None
    lo: int = 0
    hi: int = 0
    max_len: int = 256
    enum: tuple[str, ...] = ()
    description: str = ""

    def openapi(self) -> dict[str, Any]:
        d: dict[str, Any]
        if self.kind == "code":
            d = {"type": "string", "pattern": f"^[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}$"}
        elif self.kind == "integer":
            d = {"type": "integer", "minimum": self.lo, "maximum": self.hi}
        elif self.kind == "time":
            d = {"type": "number", "minimum": 0}
        elif self.enum:
            d = {"type": "string", "enum": list(self.enum)}
        else:
            d = {"type": "string", "minLength": 1, "maxLength": self.max_len}
        if self.default is not None:
            d["default"] = self.default
        if self.description:
            d["description"] = self.description
        return d

    def read(self, body: dict[str, Any], trust_time: bool) -> Any:
        v = body.get(self.name)
        if v is None:
            if self.required:
                raise ApiError("invalid_request", f"missing field {self.name!r}")
            return self.default
        if self.kind == "code":
            if not (isinstance(v, str) and MIN_DIGITS <= len(v) <= MAX_DIGITS
                    and v.isascii() and v.isdigit()):
                raise ApiError("invalid_request", f"{self.name!r} must be the code as a string of "
                               f"{MIN_DIGITS}-{MAX_DIGITS} digits, e.g. \"012345\"")
            return v
        if self.kind == "integer":
            if isinstance(v, bool) or not isinstance(v, int) or not self.lo <= v <= self.hi:
                raise ApiError("invalid_request",
                               f"{self.name!r} must be a whole number in {self.lo}..{self.hi}")
            return v
        if self.kind == "time":
            if not trust_time:
                raise ApiError("invalid_request", "'at' is refused: this service uses its own clock "
                               "(start it with --trust-client-time for simulations)")
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise ApiError("invalid_request", "'at' must be a finite number of Unix seconds")
            return float(v)
        if self.enum:
            if v not in self.enum:
                raise ApiError("invalid_request", f"{self.name!r} must be one of {', '.join(self.enum)}")
            return v
        if not isinstance(v, str) or not v or len(v) > self.max_len or not v.isprintable():
            raise ApiError("invalid_request", f"{self.name!r} must be a non-empty string of at most "
                           f"{self.max_len} printable characters")
        return v


@dataclass(frozen=True)
class Model:
    name: str
    fields: tuple[Field, ...]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # further OpenAPI keywords

    def read(self, body: dict[str, Any], *, trust_time: bool) -> dict[str, Any]:
        return {f.name: f.read(body, trust_time) for f in self.fields}

    def openapi(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "object", "required": [f.name for f in self.fields if f.required],
                             "properties": {f.name: f.openapi() for f in self.fields}}
        if self.description:
            d["description"] = self.description
        d.update(self.extra)
        return d


SERIAL = Field("serial", "string", required=True, max_len=MAX_SERIAL)
AT = Field("at", "time", description="reference time in Unix seconds; refused unless the service runs "
                                     "with --trust-client-time")


def _code(name: str) -> Field:
    return Field(name, "code", required=True, description="the code as shown (keep leading zeros)")


CHECK = Model("CheckRequest", (SERIAL, _code("code"), AT))
SYNC = Model("SyncRequest", (SERIAL, _code("code1"), _code("code2"), AT))
SERIAL_ONLY = Model("SerialRequest", (SERIAL,))
ENROLL = Model("EnrollRequest", (
    SERIAL, Field("uri", "string", max_len=2048, description="otpauth:// URI"),
    Field("secret", "string", max_len=1024, description="base32"),
    Field("kind", "string", default=Kind.TOTP.value, enum=tuple(k.value for k in Kind)),
    Field("algorithm", "string", default=Algorithm.SHA1.value, enum=tuple(a.value for a in Algorithm)),
    Field("digits", "integer", default=6, lo=MIN_DIGITS, hi=MAX_DIGITS),
    Field("period", "integer", default=30, lo=1, hi=MAX_PERIOD),
    Field("counter", "integer", default=0, lo=0, hi=MAX_COUNTER),
    Field("issuer", "string", default=""), Field("account", "string", default=""),
    _code("code1"), _code("code2"), AT),
    description="Either 'uri' (otpauth://) or 'secret' (base32) with the optional token parameters.")
BATCH = Model("BatchRequest", (), extra={"required": ["items"], "properties": {"items": {
    "type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/CheckRequest"},
    "description": "verified in order; the limit is the service's --max-batch"}}})

MODELS = (CHECK, SYNC, SERIAL_ONLY, ENROLL, BATCH)
