"""Shared helpers: a relying party built on python-fido2's Fido2Server plus our own counter check."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import STATUS, CtapDevice
from fido2.ctap2.base import Ctap2
from fido2.ctap2.pin import ClientPin
from fido2.hid import CTAPHID
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticatorData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

ORIGIN = "https://example.com"
RP_ID = "example.com"


class Recording(CtapDevice):
    """Records the CTAP2 command byte of every CBOR request."""

    def __init__(self, inner: SoftCtapDevice) -> None:
        self.inner, self.commands = inner, list[int]()

    @property
    def capabilities(self) -> int:
        return self.inner.capabilities

    def call(self, cmd: int, data: bytes = b"", event: threading.Event | None = None,
             on_keepalive: Callable[[STATUS], None] | None = None) -> bytes:
        if cmd == CTAPHID.CBOR and data:
            self.commands.append(data[0])
        return self.inner.call(cmd, data, event, on_keepalive)

    @classmethod
    def list_devices(cls):  # type: ignore[no-untyped-def]
        return iter(())


class Ui(UserInteraction):
    def __init__(self, pin: str | None = None) -> None:
        self.pin = pin
        self.prompts = 0

    def prompt_up(self) -> None:
        self.prompts += 1

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        return self.pin

    def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
        return True


class CounterRegressionError(ValueError):
    pass


@dataclass
class RelyingParty:
    """Fido2Server + the sign-counter rule Fido2Server leaves to the RP (WebAuthn §7.2 step 21)."""

    server: Fido2Server = field(default_factory=lambda: Fido2Server(
        PublicKeyCredentialRpEntity(id=RP_ID, name="Example")))
    credentials: list[AttestedCredentialData] = field(default_factory=list)
    counters: dict[bytes, int] = field(default_factory=dict)

    def register(self, client: Fido2Client, *, user: bytes = b"user-1", name: str = "alice",
                 uv: UserVerificationRequirement = UserVerificationRequirement.DISCOURAGED,
                 rk: bool = False, extensions: Mapping[str, Any] | None = None) -> AuthenticatorData:
        opts, state = self.server.register_begin(
            PublicKeyCredentialUserEntity(id=user, name=name), user_verification=uv,
            resident_key_requirement=(ResidentKeyRequirement.REQUIRED if rk
                                      else ResidentKeyRequirement.DISCOURAGED),
            extensions=extensions)
        resp = client.make_credential(opts.public_key)
        auth_data = self.server.register_complete(state, resp)
        assert auth_data.credential_data is not None
        self.credentials.append(auth_data.credential_data)
        self.counters[auth_data.credential_data.credential_id] = auth_data.counter
        return auth_data

    def login(self, client: Fido2Client, *, discoverable: bool = False,
              uv: UserVerificationRequirement = UserVerificationRequirement.DISCOURAGED) -> AuthenticatorData:
        opts, state = self.server.authenticate_begin(None if discoverable else self.credentials,
                                                     user_verification=uv)
        resp = client.get_assertion(opts.public_key).get_response(0)
        cred = self.server.authenticate_complete(state, self.credentials, resp)
        auth_data = resp.response.authenticator_data
        stored = self.counters.get(cred.credential_id, 0)
        if (auth_data.counter or stored) and auth_data.counter <= stored:
            raise CounterRegressionError(f"sign counter {auth_data.counter} <= stored {stored}")
        self.counters[cred.credential_id] = auth_data.counter
        return auth_data


def client_for(device: CtapDevice, pin: str | None = None) -> Fido2Client:
    return Fido2Client(device, DefaultClientDataCollector(ORIGIN), user_interaction=Ui(pin))


def set_pin(device: CtapDevice, pin: str) -> None:
    ClientPin(Ctap2(device)).set_pin(pin)


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator(AuthenticatorState.new(attestation="none"))


@pytest.fixture
def dev(auth: Authenticator) -> SoftCtapDevice:
    return SoftCtapDevice(auth)


@pytest.fixture
def rp() -> RelyingParty:
    return RelyingParty()
