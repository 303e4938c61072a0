"""tokensim's sibling packages ``hw`` and ``firmware_sim``, imported from tokensim's own install.

tokensim installs three top-level packages side by side: ``tokens``, ``hw`` and ``firmware_sim``
(the layout is fixed).  ``python -c``, ``python -m`` and a script put their own directory first on
``sys.path``, so a user's ``hw/`` folder in the working directory would be what ``import hw``
finds, and tokensim's serial driver would break in confusing ways.  :func:`prefer_own` makes the
lazy imports of ``hw``/``firmware_sim`` inside tokensim load tokensim's package, and
:func:`shadowed_by` lets error messages say "shadowed" instead of "missing".
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .errors import TokensimError

ROOT = Path(__file__).resolve().parent.parent  # where tokens/, hw/ and firmware_sim/ live
SIBLINGS = ("hw", "firmware_sim")


class ShadowedModuleError(TokensimError, ImportError):
    """Another module of the same name was imported before one of tokensim's packages."""


def _own_init(name: str) -> Path:
    return ROOT / name / "__init__.py"


def origin_of(name: str) -> str | None:
    """The file ``import name`` loads (or loaded) — without running it; None if there is none."""
    mod = sys.modules.get(name)
    if mod is not None:
        return getattr(mod, "__file__", None) or f"a namespace package {name!r}"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return spec.origin if spec.has_location and spec.origin else f"a namespace package {name!r}"


def shadowed_by(name: str) -> str | None:
    """Where the module ``name`` comes from when that is not tokensim's own package of that name.

    None when ``name`` is not one of tokensim's packages, is tokensim's, or is not found at all."""
    top = name.partition(".")[0]
    if top not in (*SIBLINGS, "tokens") or not _own_init(top).is_file():
        return None
    where = origin_of(top)
    if where is None or Path(where).resolve() == _own_init(top).resolve():
        return None
    return where


def prefer_own(*names: str) -> None:
    """Make ``import hw`` / ``import firmware_sim`` load tokensim's packages from here on.

    A package of that name found first on ``sys.path`` (a ``hw/`` in the working directory) is
    passed over: tokensim's own is loaded from its install location instead.  If another module of
    that name is already imported, raises :class:`ShadowedModuleError` naming it."""
    for name in names or SIBLINGS:
        where = shadowed_by(name)
        if where is None:
            continue
        if name in sys.modules:
            raise ShadowedModuleError(
                f"the module {name!r} imported from {where} is not tokensim's {name!r} package "
                f"({_own_init(name).parent}); rename your module or import tokensim first")
        spec = importlib.util.spec_from_file_location(
            name, _own_init(name), submodule_search_locations=[str(_own_init(name).parent)])
        if spec is None or spec.loader is None:  # pragma: no cover - a file we just checked exists
            raise ShadowedModuleError(f"cannot load tokensim's {name!r} package from {ROOT}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
