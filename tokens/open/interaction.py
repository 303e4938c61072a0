"""The user-interaction hook: how a device asks its user for a touch, a PIN or user verification.

The protocol is python-fido2's ``fido2.client.UserInteraction`` (``prompt_up``, ``request_pin``,
``request_uv``), so an instance of that class works here unchanged, and ours work wherever
python-fido2 wants one.  Scripts answer with :class:`ScriptedInteraction`; the CLI uses
:class:`TerminalInteraction` (``getpass`` for a PIN, "touch your key" on stderr).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterable
from typing import Any, Protocol, TextIO, runtime_checkable

from ..errors import InputError


@runtime_checkable
class UserInteraction(Protocol):
    """What a device asks of its user.  ``permissions`` is a CTAP2 ``ClientPin.PERMISSION`` for
    FIDO2 keys and ``None`` for serial tokens; ``rp_id`` names what the PIN is for."""

    def prompt_up(self) -> None: ...

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None: ...

    def request_uv(self, permissions: Any, rp_id: str | None) -> bool: ...


class NoInteraction:
    """Nobody is there: no PIN is given, UV is allowed, touch prompts go nowhere."""

    def prompt_up(self) -> None:
        return None

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        return None

    def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
        return True


class ScriptedInteraction:
    """Answers from a script, and a log of what was asked (``events``) for tests to check.

    ``pins`` are handed out in order (the last one repeats); ``uv`` answers every UV request.
    """

    def __init__(self, pins: Iterable[str] | str | None = None, *, uv: bool = True) -> None:
        self._pins = [pins] if isinstance(pins, str) else list(pins or [])
        self.uv = uv
        self.events: list[str] = []

    def prompt_up(self) -> None:
        self.events.append("touch")

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        self.events.append("pin")
        if not self._pins:
            return None
        return self._pins.pop(0) if len(self._pins) > 1 else self._pins[0]

    def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
        self.events.append("uv")
        return self.uv


class TerminalInteraction:
    """The CLI's interaction: prompts on stderr, the PIN read with ``getpass`` (never echoed)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def _say(self, text: str) -> None:
        out = self.stream or sys.stderr
        out.write(text + "\n")
        out.flush()

    def prompt_up(self) -> None:
        self._say("touch your key (or press its button) ...")

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        what = f" for {rp_id}" if rp_id else ""
        try:
            pin = getpass.getpass(f"PIN{what}: ", stream=self.stream or sys.stderr)
        except (EOFError, KeyboardInterrupt):
            return None
        return pin or None

    def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
        self._say("verify yourself on the key (fingerprint) ...")
        return True


def as_fido2(interaction: UserInteraction) -> Any:
    """Adapt any :class:`UserInteraction` to a ``fido2.client.UserInteraction`` instance."""
    from fido2.client import UserInteraction as Fido2UserInteraction

    if isinstance(interaction, Fido2UserInteraction):
        return interaction

    class _Bridge(Fido2UserInteraction):
        def prompt_up(self) -> None:
            interaction.prompt_up()

        def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
            return interaction.request_pin(permissions, rp_id)

        def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
            return interaction.request_uv(permissions, rp_id)

    return _Bridge()


PIN_ENV = "TOKENSIM_PIN"


class PinRequiredError(InputError):
    """A FIDO2 PIN is needed, none was given, and there is no terminal to ask on."""


class CliInteraction(TerminalInteraction):
    """The CLI's PIN chain, in one place: the ``--pin`` value (``pin``), then ``$TOKENSIM_PIN``, then a
    ``getpass`` prompt when stdin is a terminal; otherwise (a pipe, cron, CI) a one-line
    :class:`PinRequiredError` naming both ways to give it — a script never blocks on a prompt.
    Asked only when the authenticator really wants a PIN."""

    def __init__(self, pin: str | None = None, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self.pin = pin

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        import os

        if self.pin:
            return self.pin
        env = os.environ.get(PIN_ENV)
        if env:
            return env
        what = f" for {rp_id}" if rp_id else ""
        if not sys.stdin.isatty():
            raise PinRequiredError(f"the authenticator needs its PIN{what}: pass --pin PIN or set "
                                   f"{PIN_ENV} (stdin is not a terminal, so nobody can be asked)")
        pin = super().request_pin(permissions, rp_id)
        if not pin:
            raise PinRequiredError(f"no PIN entered{what} (or pass --pin PIN, or set {PIN_ENV})")
        return pin
