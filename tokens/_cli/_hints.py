"""One line for an ImportError: the extra to install, or the module that shadows an installed one.

The extra is read from tokensim's own metadata (``Requires-Dist: boto3>=1.34; extra == "aws"``), so
the hint names the extra that really provides the module; a module that *is* found — a file or
folder of that name in the working directory, say — is reported as shadowing, never as missing.
"""

from __future__ import annotations

import re
from importlib import metadata

from .._imports import origin_of, shadowed_by

# import name -> distribution name, where they differ (or the module comes with another one)
_DIST_OF = {"botocore": "boto3", "psycopg_pool": "psycopg", "zxingcpp": "zxing-cpp", "serial": "pyserial",
            "PIL": "pillow", "pskc": "python-pskc", "yaml": "pyyaml"}
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[([^\]]*)\])?")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extras_providing(dist: str) -> list[str]:
    """tokensim's extras that install ``dist`` (directly or through another extra), 'dev' last."""
    try:
        requires = metadata.requires("tokensim") or []
    except metadata.PackageNotFoundError:
        return []
    direct: dict[str, set[str]] = {}  # extra -> distributions and "tokensim[x]" references
    order: list[str] = []
    for line in requires:
        req, _, marker = line.partition(";")
        m, e = _REQ.match(req), _EXTRA.search(marker)
        if not m or not e:
            continue
        extra = e.group(1)
        if extra not in direct:
            direct[extra] = set()
            order.append(extra)
        if _norm(m.group(1)) == "tokensim":
            direct[extra].update(f"tokensim[{x.strip()}]" for x in (m.group(3) or "").split(","))
        else:
            direct[extra].add(_norm(m.group(1)))

    def provides(extra: str, seen: frozenset[str] = frozenset()) -> bool:
        items = direct.get(extra, set())
        if _norm(dist) in items:
            return True
        return any(provides(i[9:-1], seen | {extra}) for i in items
                   if i.startswith("tokensim[") and i[9:-1] not in seen)

    found = [x for x in order if provides(x)]
    return sorted(found, key=lambda x: x == "dev")


def import_error_line(e: ImportError) -> str:
    """The one-line message for an ImportError that reached the CLI boundary."""
    full = e.name or ""
    top = full.split(".")[0]
    if not top:
        return f"cannot import: {e}"
    where = shadowed_by(top)
    if where is not None:
        return (f"{where} shadows tokensim's own {top!r} package (a file or folder named {top!r} "
                "comes first on sys.path): rename it or run from another directory")
    found = origin_of(top)
    if found is not None:  # the module exists, so nothing is missing from the install
        return (f"cannot import {full}: {e} (the module {top!r} found is {found}; if that is not the "
                "installed package, a file or folder of that name is shadowing it)")
    extras = extras_providing(_DIST_OF.get(top, top))
    hint = f" (pip install 'tokensim[{extras[0]}]')" if extras else ""
    return f"missing optional dependency {full}{hint}"
