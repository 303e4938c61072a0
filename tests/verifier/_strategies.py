"""Hypothesis strategies shared by the verifier's property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tokens.clock import DriftModel, SinusoidalTemperature

from .conftest import START

DAY = 86400.0


def drift_models(max_ppm: float, **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[DriftModel]:
    """Token clocks from START: up to ±120 s off, ±``max_ppm`` fast or slow, ±5 ppm a year of aging,
    sometimes a daily or yearly temperature cycle; ``extra`` adds DriftModel fields (jitter, seed)."""
    return st.builds(
        DriftModel,
        offset=st.floats(-120, 120),
        ppm=st.floats(-max_ppm, max_ppm),
        epoch=st.just(START),
        temperature=st.one_of(st.none(), st.builds(
            SinusoidalTemperature, mean=st.floats(-10, 40), amplitude=st.floats(0, 15),
            period=st.sampled_from([DAY, 365.25 * DAY]))),
        aging_ppm_per_year=st.floats(-5, 5),
        **extra,
    )
