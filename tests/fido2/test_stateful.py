"""A hypothesis state machine interleaving registrations, logins, PIN attempts, power cycles and
resets; a small model predicts every status and counter."""

from __future__ import annotations

import hashlib

from fido2 import cbor
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.pin import ClientPin
from fido2.webauthn import AuthenticatorData
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

ERR = CtapError.ERR
PIN = "2468"


class AuthenticatorModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.a = Authenticator(AuthenticatorState.new(attestation="none"), reset_window=None)
        self.dev = SoftCtapDevice(self.a)
        self.creds: dict[bytes, int] = {}  # credential id -> last counter seen
        self.gone: list[bytes] = []  # credentials wiped by a reset
        self.pin_set, self.retries, self.consecutive = False, 8, 0

    def _call(self, cmd: int, params: dict[int, object]) -> tuple[int, dict[int, object]]:
        resp = self.a.process(bytes([cmd]) + cbor.encode(params))
        return resp[0], (cbor.decode(resp[1:]) if len(resp) > 1 else {})

    @rule(user=st.binary(min_size=1, max_size=8))
    def register(self, user: bytes) -> None:
        code, body = self._call(0x01, {1: b"\0" * 32, 2: {"id": "example.com"}, 3: {"id": user},
                                       4: [{"type": "public-key", "alg": -7}]})
        assert code == 0
        cd = AuthenticatorData(body[2]).credential_data  # type: ignore[arg-type]
        assert cd is not None and cd.credential_id not in self.creds
        self.creds[cd.credential_id] = 0

    @precondition(lambda self: self.creds)
    @rule(data=st.data())
    def login(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.creds)))
        code, body = self._call(0x02, {1: "example.com", 2: hashlib.sha256(cid).digest(),
                                       3: [{"id": cid, "type": "public-key"}]})
        assert code == 0
        counter = AuthenticatorData(body[2]).counter  # type: ignore[arg-type]
        assert counter > self.creds[cid]
        self.creds[cid] = counter

    @precondition(lambda self: self.gone)
    @rule(data=st.data())
    def login_with_wiped_credential(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.gone))
        code, _ = self._call(0x02, {1: "example.com", 2: b"\1" * 32, 3: [{"id": cid, "type": "public-key"}]})
        assert code == ERR.NO_CREDENTIALS

    @precondition(lambda self: not self.pin_set)
    @rule()
    def set_pin(self) -> None:
        ClientPin(Ctap2(self.dev)).set_pin(PIN)
        self.pin_set, self.retries = True, 8

    @precondition(lambda self: self.pin_set)
    @rule(right=st.booleans())
    def try_pin(self, right: bool) -> None:
        if self.retries == 0:
            expected = ERR.PIN_BLOCKED
        elif self.consecutive >= 3:
            expected = ERR.PIN_AUTH_BLOCKED
        elif right:
            expected, self.retries, self.consecutive = ERR.SUCCESS, 8, 0
        else:
            self.retries -= 1
            self.consecutive += 1
            expected = (ERR.PIN_BLOCKED if self.retries == 0 else
                        ERR.PIN_AUTH_BLOCKED if self.consecutive >= 3 else ERR.PIN_INVALID)
        try:
            ClientPin(Ctap2(self.dev)).get_pin_token(PIN if right else "0000")
            code = ERR.SUCCESS
        except CtapError as e:
            code = e.code
        assert code == expected

    @rule()
    def power_cycle(self) -> None:
        self.a.power_cycle()
        self.consecutive = 0

    @rule()
    def reset(self) -> None:
        Ctap2(self.dev).reset()
        self.gone += list(self.creds)
        self.creds, self.pin_set, self.retries, self.consecutive = {}, False, 8, 0

    @invariant()
    def persistent_state_matches(self) -> None:
        assert self.a.state.pin_retries == self.retries
        assert (self.a.state.pin_hash is not None) == self.pin_set


TestAuthenticatorModel = AuthenticatorModel.TestCase
TestAuthenticatorModel.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
