"""Fuzzed requests never crash or hang the authenticator: every answer is a status byte (+ CBOR).

Covers CBOR requests for every command (authenticatorConfig 0x0D and the credential-management preview
code 0x41 included) on every key model, CTAPHID packets, U2F APDUs, and the fast canonical CBOR codec
against python-fido2's."""

from __future__ import annotations

import threading
from typing import Any

from fido2 import cbor
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._settings import FUZZ
from tokens.fido2 import Authenticator, AuthenticatorState
from tokens.fido2.authenticator import models
from tokens.fido2.transport.ctaphid import CtapHidServer

AUTH = Authenticator(AuthenticatorState.new(attestation="none", capacity=5), reset_window=None)
KNOWN_STATUSES = {0x00, 0x01, 0x02, 0x03, 0x04, 0x11, 0x12, 0x14, 0x18, 0x19, 0x26, 0x27, 0x28, 0x2B, 0x2C,
                  0x2D, 0x2E, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3C, 0x3D, 0x3E, 0x3F,
                  0x40}

leaves = st.one_of(st.integers(-2**40, 2**40), st.binary(max_size=80), st.text(max_size=20), st.booleans())
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.integers(-5, 12), st.text(max_size=8)), inner,
                                                 max_size=5)), max_leaves=12)
params = st.dictionaries(st.integers(1, 12), values, max_size=8)
commands = st.sampled_from([0x01, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x40, 0x41,
                            0x99])
MODEL_AUTHS = {name: Authenticator(AuthenticatorState.new(model=name, attestation="batch", capacity=5),
                                   reset_window=None) for name in models.MODELS}


def check(resp: bytes) -> None:
    assert resp, "empty response"
    assert resp[0] in KNOWN_STATUSES, f"status 0x{resp[0]:02x}"  # never CTAP1_ERR_OTHER (an exception)
    if resp[0] == 0 and len(resp) > 1:
        body = resp[1:]
        assert cbor.encode(cbor.decode(body)) == body


@FUZZ
@given(commands, params)
def test_structured_cbor_requests(cmd: int, req: dict[int, Any]) -> None:
    check(AUTH.process(bytes([cmd]) + cbor.encode(req)))


@FUZZ
@given(st.sampled_from(sorted(models.MODELS)), commands, params)
def test_every_model_answers_every_command_with_a_status(model: str, cmd: int, req: dict[int, Any]) -> None:
    check(MODEL_AUTHS[model].process(bytes([cmd]) + cbor.encode(req)))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4, 0xFF]), st.one_of(st.none(), st.dictionaries(
    st.integers(1, 4), st.one_of(st.integers(-2, 80), st.lists(st.text(max_size=12), max_size=10),
                                 st.booleans()), max_size=3))), max_size=6))
def test_authenticator_config_sequences_keep_the_pin_rules(
        calls: list[tuple[int, dict[int, Any] | None]]) -> None:
    a = Authenticator(AuthenticatorState.new(attestation="batch"), reset_window=None)
    floor = a.state.min_pin_length
    for sub, sub_params in calls:
        req: dict[int, Any] = {1: sub}
        if sub_params is not None:
            req[2] = sub_params
        check(a.process(bytes([0x0D]) + cbor.encode(req)))
        assert a.state.min_pin_length >= floor  # setMinPINLength never lowers the minimum
        floor = a.state.min_pin_length
    info = cbor.decode(a.process(b"\x04")[1:])
    assert info[4]["alwaysUv"] is a.state.always_uv and info[13] == a.state.min_pin_length


@FUZZ
@given(commands, st.binary(max_size=300))
def test_random_bytes(cmd: int, body: bytes) -> None:
    check(AUTH.process(bytes([cmd]) + body))


@FUZZ
@given(st.sampled_from([0x01, 0x02, 0x06, 0x0A, 0x0C, 0x0D, 0x41]), params)
def test_typed_mutations_of_valid_requests(cmd: int, extra: dict[int, Any]) -> None:
    base: dict[int, Any] = {
        0x0D: {1: 3, 2: {1: 6, 2: ["example.com"], 3: False}},
        0x41: {1: 4, 2: {1: b"\x00" * 32}},
        0x01: {1: b"\x00" * 32, 2: {"id": "example.com"}, 3: {"id": b"u"},
               4: [{"type": "public-key", "alg": -7}]},
        0x02: {1: "example.com", 2: b"\x00" * 32},
        0x06: {1: 2, 2: 2},
        0x0A: {1: 1},
        0x0C: {1: 10, 3: 0},
    }[cmd]
    check(AUTH.process(bytes([cmd]) + cbor.encode({**base, **extra})))


@FUZZ
@given(st.lists(st.binary(min_size=0, max_size=70), max_size=12))
def test_ctaphid_packets_never_kill_the_server(packets: list[bytes]) -> None:
    sent: list[bytes] = []
    done = threading.Event()
    server = CtapHidServer(_Echo(done), sent.append)
    try:
        for p in packets:
            server.feed(p)
        assert all(len(p) == 64 for p in sent)
    finally:
        server.close()


class _Echo:
    capabilities = 0x04

    def __init__(self, done: threading.Event) -> None:
        self.done = done

    def call(self, cmd: int, data: bytes = b"", event: Any = None, on_keepalive: Any = None) -> bytes:
        return b"\x00"

    def close(self) -> None:
        pass


@FUZZ
@given(st.binary(max_size=200))
def test_u2f_apdus_always_end_in_a_status_word(apdu: bytes) -> None:
    from fido2.hid import CTAPHID

    from tokens.fido2 import SoftCtapDevice

    resp = SoftCtapDevice(AUTH).call(CTAPHID.MSG, apdu)
    assert len(resp) >= 2
    assert int.from_bytes(resp[-2:], "big") in {0x9000, 0x6985, 0x6A80, 0x6700, 0x6E00, 0x6D00}


@FUZZ
@given(values)
def test_fast_encoder_matches_python_fido2(value: Any) -> None:
    from tokens.fido2.authenticator import cbor as _cbor

    assert _cbor.encode(value) == cbor.encode(value)


def _reference_canonical(data: bytes) -> tuple[bool, Any]:
    try:
        value = cbor.decode(data)
        return cbor.encode(value) == data, value
    except Exception:
        return False, None


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, max(0, len(data) - 1)).flatmap(lambda i: st.integers(0, 255).map(
        lambda b: data[:i] + bytes([b]) + data[i + 1:]))


@FUZZ
@given(st.one_of(st.binary(max_size=40), values.map(cbor.encode),
                 values.map(cbor.encode).flatmap(_mutations)))
def test_canonical_decoder_matches_python_fido2(data: bytes) -> None:
    from tokens.fido2.authenticator import cbor as _cbor

    ok, expected = _reference_canonical(data)
    try:
        got, mine = _cbor.decode_canonical(data), True
    except ValueError:
        got, mine = None, False
    assert mine == ok, data.hex()
    if ok:
        assert got == expected and type(got) is type(expected)
