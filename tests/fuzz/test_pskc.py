"""PSKC import under adversarial files: a report or ImportFormatError, never another exception, and
the store holds exactly the keys the report says were imported (no half state)."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._settings import FUZZ
from tokens.verifier import ImportFormatError, MemoryStore, Verifier
from tokens.verifier.pskc_import import Outcome, import_pskc

TOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
HOTP = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"

secrets_b64 = st.one_of(
    st.binary(min_size=0, max_size=40).map(lambda b: base64.b64encode(b).decode()),
    st.text(alphabet="ABCDEFabcdef0123456789+/=!*- \n", max_size=40),
)
numbers = st.one_of(st.none(), st.integers(-2**70, 2**70).map(str), st.sampled_from(["", "x", "1.5", "030"]))


@st.composite
def packages(draw: st.DrawFn) -> str:
    serial = escape(draw(st.text(max_size=12).filter(lambda s: "\x00" not in s)))
    algo = draw(st.sampled_from([TOTP, HOTP, "urn:other", ""]))
    parts = [f"<Secret><PlainValue>{draw(secrets_b64)}</PlainValue></Secret>"]
    for tag in ("TimeInterval", "Counter", "TimeDrift"):
        value = draw(numbers)
        if value is not None:
            parts.append(f"<{tag}><PlainValue>{escape(value)}</PlainValue></{tag}>")
    length = draw(numbers)
    fmt = f'<AlgorithmParameters><ResponseFormat Length="{escape(length)}" Encoding="DECIMAL"/>' \
          "</AlgorithmParameters>" if length is not None else ""
    return (f"<KeyPackage><DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>"
            f'<Key Id="k{serial}" Algorithm="{algo}">{fmt}<Data>{"".join(parts)}</Data></Key></KeyPackage>')


documents = st.one_of(
    st.lists(packages(), max_size=5).map(
        lambda ps: '<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">'
                   + "".join(ps) + "</KeyContainer>"),
    st.text(max_size=200),
)


@FUZZ
@given(doc=documents, atomic=st.booleans())
def test_pskc_import_reports_or_refuses(doc: str, atomic: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "keys.pskcxml"
        f.write_text(doc, encoding="utf-8", errors="surrogatepass")
        v = Verifier(MemoryStore(), clock=None)
        try:
            report = import_pskc(v, f, atomic=atomic, at=0.0)
        except ImportFormatError:
            assert v.credentials() == []  # a file-level refusal writes nothing
            return
    imported = sorted(r.serial for r in report if r.outcome is Outcome.IMPORTED)
    assert sorted(c.serial for c in v.credentials()) == imported
    if atomic and any(r.outcome is Outcome.ERROR for r in report):
        assert imported == []
    for r in report:
        assert r.outcome is Outcome.IMPORTED or r.reason
