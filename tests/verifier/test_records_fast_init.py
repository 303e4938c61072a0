"""fast_init keeps the records what they were: same fields, defaults, equality, immutability."""

from __future__ import annotations

import dataclasses

import pytest

from tokens.verifier._records import fast_init
from tokens.verifier.drift import DriftEstimate, FilterState
from tokens.verifier.model import Observation, Reason, VerifyResult
from tokens.verifier.store import Attempt


def _reference(cls: type) -> type:
    """The same record with dataclasses' own generated __init__."""
    return dataclasses.make_dataclass(cls.__name__, [(f.name, f.type, f) for f in dataclasses.fields(cls)],
                                      frozen=True)


@pytest.mark.parametrize(("cls", "args", "kwargs"), [
    (VerifyResult, (True, Reason.OK, "S"), {"step": 3, "window": (1, 4), "predicted_offset": 0.5}),
    (VerifyResult, (False, Reason.INVALID, "S"), {}),
    (Observation, (1.5, 7, -1), {}),
    (FilterState, (1.0, 0.5, 3.0, 0.1, 0.0, 9.0, 2, 0.0), {}),
    (DriftEstimate, (1.0, 0.5, 0.2, 3.0, 4.0, 2, 10.0, False), {}),
    (Attempt, (None, [], True), {}),
])
def test_fast_init_builds_the_same_record(cls: type, args: tuple[object, ...],
                                          kwargs: dict[str, object]) -> None:
    rec = cls(*args, **kwargs)
    ref = _reference(cls)(*args, **kwargs)
    assert {f.name: getattr(rec, f.name) for f in dataclasses.fields(cls)} == \
        {f.name: getattr(ref, f.name) for f in dataclasses.fields(cls)}
    assert rec == cls(*args, **kwargs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.__setattr__(dataclasses.fields(cls)[0].name, None)
    with pytest.raises(TypeError):
        cls(*args, no_such_field=1, **kwargs)


def test_fast_init_refuses_what_it_would_break() -> None:
    @dataclasses.dataclass(frozen=True)
    class Post:
        a: int

        def __post_init__(self) -> None: ...

    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (Post, Mutable, Factory):
        with pytest.raises(TypeError):
            fast_init(cls)
