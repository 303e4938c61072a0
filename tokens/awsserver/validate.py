"""Input constraints of IAM and STS parameters, as the API reference states them (ValidationError).

Names ``[\\w+=,.@-]+`` (ASCII word characters, as in AWS's Java patterns), paths
``/`` or ``/.../`` of printable ASCII, policy documents and passwords of tab/newline/printable
Latin-1, digits only ASCII digits: nothing that XML 1.0 cannot carry is ever stored.
"""

from __future__ import annotations

import re

from .errors import AwsApiFault, missing, validation
from .query import QueryRequest

_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_PATH_PREFIX = re.compile(r"/[\x21-\x7e]*")
_DOC = re.compile(r"[\t\n\r\x20-\xff]+")
_SERIAL = re.compile(r"[\w+=/:,.@-]+", re.ASCII)
_ARN = re.compile(r"[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd]+")


def required(req: QueryRequest, name: str) -> str:
    v = req.get(name)
    if v is None:
        raise missing(name[0].lower() + name[1:])
    return v


def _member(name: str) -> str:
    return name[0].lower() + name[1:]


def name(req: QueryRequest, param: str, max_len: int = 64, *, optional: bool = False) -> str:
    value = req.get(param)
    if value is None:
        if optional:
            return ""
        raise missing(_member(param))
    if len(value) > max_len:
        raise validation(value, _member(param), f"Member must have length less than or equal to {max_len}")
    if not _NAME.fullmatch(value):
        raise validation(value, _member(param), "Member must satisfy regular expression pattern: "
                                                "[\\w+=,.@-]+")
    return value


def path(req: QueryRequest, param: str = "Path") -> str:
    value = req.get(param, "/") or "/"
    if len(value) > 512:
        raise validation(value, _member(param), "Member must have length less than or equal to 512")
    if not _PATH.fullmatch(value):
        raise validation(value, _member(param), "Member must satisfy regular expression pattern: "
                                                "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")
    return value


def path_prefix(req: QueryRequest) -> str:
    value = req.get("PathPrefix", "/") or "/"
    if len(value) > 512 or not _PATH_PREFIX.fullmatch(value):
        raise validation(value, "pathPrefix", "Member must satisfy regular expression pattern: "
                                              "\\u002F[\\u0021-\\u007F]*")
    return value


def text(req: QueryRequest, param: str, max_len: int, *, optional: bool = False, min_len: int = 1) -> str:
    value = req.get(param)
    if value is None:
        if optional:
            return ""
        raise missing(_member(param))
    if not min_len <= len(value) <= max_len:
        raise validation(value, _member(param), f"Member must have length between {min_len} and {max_len}")
    if not _DOC.fullmatch(value):
        raise validation(value, _member(param), "Member must satisfy regular expression pattern: "
                                                "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
    return value


def arn(req: QueryRequest, param: str, *, optional: bool = False) -> str:
    value = req.get(param)
    if value is None:
        if optional:
            return ""
        raise missing(_member(param))
    if not 20 <= len(value) <= 2048 or not _ARN.fullmatch(value):
        raise validation(value, _member(param), "Member must have length between 20 and 2048")
    return value


def serial(req: QueryRequest, param: str = "SerialNumber", *, optional: bool = False) -> str:
    value = req.get(param)
    if value is None:
        if optional:
            return ""
        raise missing(_member(param))
    if not 9 <= len(value) <= 256 or not _SERIAL.fullmatch(value):
        raise validation(value, _member(param), "Member must satisfy regular expression pattern: "
                                                "[\\w+=/:,.@-]+")
    return value


def code(req: QueryRequest, param: str) -> str:
    value = required(req, param)
    if not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise validation(value, _member(param), "Member must satisfy regular expression pattern: [\\d]* "
                                                "and have length 6")
    return value


def integer(req: QueryRequest, param: str, low: int, high: int, default: int | None = None) -> int | None:
    """An integer parameter of ASCII digits only (no signs, no Unicode digits) within [low, high]."""
    raw = req.get(param)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise AwsApiFault("ValidationError", f"1 validation error detected: Value at '{_member(param)}' "
                          "failed to satisfy constraint: Member must be an integer", 400)
    v = int(raw)
    if v < low:
        raise validation(v, _member(param), f"Member must have value greater than or equal to {low}")
    if v > high:
        raise validation(v, _member(param), f"Member must have value less than or equal to {high}")
    return v


def boolean(req: QueryRequest, param: str, default: bool = False) -> bool:
    raw = req.get(param)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise validation(raw, _member(param), "Member must be a boolean")
    return raw.lower() == "true"
