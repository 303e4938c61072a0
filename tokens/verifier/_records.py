"""``fast_init``: a cheaper ``__init__`` for the frozen records built on every verification.

A frozen dataclass's generated ``__init__`` assigns each field through ``object.__setattr__``
(frozen records refuse plain assignment); a verify builds several such records (the attempt, its
observations, the drift filter state and estimate, the result), and at 8 to 9 fields each that is
about half of their cost.  ``fast_init`` replaces the generated ``__init__`` by one with the same
signature and defaults that sets the instance ``__dict__`` at once.  The record stays what it was
(frozen, same fields, eq, repr, hash); records with ``__post_init__``, default factories,
keyword-only fields or slots are refused, since the replacement would skip or break them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of the frozen dataclass ``cls`` (use below ``@dataclass``)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"fast_init: {cls.__name__} is not a plain frozen dataclass")
    ns: dict[str, Any] = {"_set": object.__setattr__}
    sig, body = [], []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not dataclasses.MISSING or f.kw_only or not f.init:
            raise TypeError(f"fast_init: {cls.__name__}.{f.name} needs the generated __init__")
        if f.default is dataclasses.MISSING:
            sig.append(f.name)
        else:
            ns[f"_d_{f.name}"] = f.default
            sig.append(f"{f.name}=_d_{f.name}")
        body.append(f"{f.name!r}: {f.name}")
    exec(f"def __init__(self, {', '.join(sig)}):\n    _set(self, '__dict__', {{{', '.join(body)}}})\n", ns)
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - replacing the generated method
    return cls
