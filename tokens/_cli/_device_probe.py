"""``tokensim device probe URL``: open any device by URL and say what it is and what it can do.

Also the helpers other commands use for ``--device URL`` (:func:`add_device_arg`,
:func:`open_cli_device`, :func:`device_codes`).  Not a command module itself: ``device.py`` calls
:func:`register_probe`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from . import output
from .common import add_json

if TYPE_CHECKING:
    from hw.token import SerialToken

    from ..device import Device
    from ..fido2.device import Fido2Device

DEVICE_HELP = ("device URL: virtual:NAME, totp:?secret=.., fido2-sim:NAME, fido2-udp://HOST:PORT, "
               "fido2-hid:, serial:///dev/ttyACM0, socket://HOST:PORT, sim-serial: (see docs/device-urls.md)")


def add_device_arg(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--device", metavar="URL", required=required, help=DEVICE_HELP)


def open_cli_device(url: str, *, reference: Any = None, **options: Any) -> Device:
    """open_device with the CLI's user interaction (the PIN chain: pin=, $TOKENSIM_PIN, the terminal)."""
    from ..open import open_device
    from ..open.interaction import CliInteraction

    return open_device(url, reference=reference, interaction=CliInteraction(options.get("pin")), **options)


def device_codes(url: str, *, at: float, count: int = 1, slot: int = 0) -> dict[str, Any]:
    """``totp code --device URL``: the same JSON shape as for a stored device."""
    from ..clock import ManualClock
    from ..device import AuthRequest, Capability, ConsecutiveCodes
    from ..errors import UnsupportedOperationError
    from ..open.codes import otp_code
    from ..params import OtpType

    with open_cli_device(url, reference=ManualClock(at)) as dev:
        if not dev.capabilities & (Capability.TOTP | Capability.HOTP):
            raise UnsupportedOperationError(f"{url}: a {dev.kind.value} device shows no OTP codes")
        auth = otp_code(dev, AuthRequest(at=at, slot=slot))
        codes = [auth.code]
        if auth.type is OtpType.HOTP:
            codes += [otp_code(dev, AuthRequest(at=at, slot=slot)).code for _ in range(count - 1)]
            return {"codes": codes, "counter": auth.counter, "kind": "hotp", "device": dev.identity}
        if count > 1:
            if not isinstance(dev, ConsecutiveCodes):
                raise UnsupportedOperationError(
                    f"{url}: this device shows one TOTP code at a time; --count needs a virtual device")
            codes = dev.consecutive(count, at=at)
        result: dict[str, Any] = {"codes": codes, "device_time": auth.device_time, "step": auth.counter,
                                  "reference_time": at, "kind": "totp", "device": dev.identity}
        if auth.period:
            result["period"] = auth.period
        return result


def open_serial_token(url: str, **options: Any) -> SerialToken:
    """``hw ... --port URL`` hook: a device URL that must be a serial token (hw.token.SerialToken)."""
    from hw.token import SerialToken

    from ..errors import InputError

    dev = open_cli_device(url, **options)
    if not isinstance(dev, SerialToken):
        dev.close()
        raise InputError(f"{url} is a {dev.kind.value} device, not a serial token")
    return dev


def open_fido2(url: str, **options: Any) -> Fido2Device:
    """``fido2 ... --device URL`` hook: a device URL that must be a FIDO2 authenticator."""
    from ..errors import InputError
    from ..fido2.device import Fido2Device

    dev = open_cli_device(url, **options)
    if not isinstance(dev, Fido2Device):
        dev.close()
        raise InputError(f"{url} is a {dev.kind.value} device, not a FIDO2 authenticator")
    return dev


def enroll_from_device(url: str, *, at: float, account: str, issuer: str, slot: int = 0,
                       ) -> tuple[Any, str, str, float]:
    """``verifier enroll --device URL`` hook: enroll (provision) the device, then read two consecutive
    codes from it.  Returns (Enrollment with secret + otpauth URI, code1, code2, reference time of
    code2).  A TOTP device with its own clock is waited for (at most one period)."""
    import sys

    from ..clock import ManualClock
    from ..device import EnrollRequest
    from ..open.codes import consecutive_codes

    ref = ManualClock(at)
    with open_cli_device(url, reference=ref) as dev:
        enr = dev.enroll(EnrollRequest(account=account, rp_id=issuer, slot=slot))
        first, second = consecutive_codes(dev, reference=ref, slot=slot,
                                          notify=lambda m: print(m, file=sys.stderr, flush=True))
    return enr, str(first.code), str(second.code), ref.now()


def _flat(info: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in info.items() if k not in ("capabilities", "details")}
    out["capabilities"] = ", ".join(info["capabilities"]) or "-"
    for k, v in info["details"].items():
        out[f"device {k}" if k in out else k] = ", ".join(map(str, v)) if isinstance(v, list) else v
    return out


def cmd_probe(args: argparse.Namespace) -> int:
    with open_cli_device(args.url) as dev:
        info = dev.info().to_dict()
    info["url"] = args.url if "secret=" not in args.url else args.url.split("?")[0] + "?..."
    if args.json:
        output.print_json(info)
    else:
        output.kv(_flat(info), title=f"{info['kind']} device {info['identity']}")
    return 0


def register_probe(s: argparse._SubParsersAction[Any]) -> None:
    p = s.add_parser("probe", help="open a device by URL and show what it is and what it can do")
    p.add_argument("url", metavar="URL", help=DEVICE_HELP)
    add_json(p)
    p.set_defaults(func=cmd_probe)


def _verified(dev: Any, enr: Any, auth: Any) -> str:
    """Check a proof with an independent implementation (pyotp, python-fido2 COSE)."""
    from ..device import DeviceKind

    if dev.kind is DeviceKind.FIDO2:
        from fido2.cose import CoseKey

        CoseKey.parse(dict(enr.public_key)).verify(auth.authenticator_data + auth.client_data_hash,
                                                   auth.signature)
        return f"assertion, sign count {auth.counter}, signature verified with python-fido2"
    import pyotp

    otp = pyotp.parse_uri(enr.otpauth_uri)
    if isinstance(otp, pyotp.TOTP):
        ok = otp.at(int(auth.device_time)) == auth.code
        return f"code {auth.code} at device time {auth.device_time:.1f}, pyotp agrees: {ok}"
    ok = otp.generate_otp(auth.counter) == auth.code
    return f"code {auth.code} (counter {auth.counter}), pyotp agrees: {ok}"


def _demo(ctx: Any) -> None:
    from ..device import AuthRequest, EnrollRequest
    from ..fido2 import state as fido2_state
    from ..open import open_device
    from ..store import DeviceStore
    from ..virtual import VirtualHOTP

    store = DeviceStore(ctx.home / "devices.json", reference=ctx.clock)
    store.add("url-demo", VirtualHOTP(counter=41), replace=True)
    fido2_state.save(fido2_state.AuthenticatorState.new(name="url-demo"), ctx.home)
    urls = [("virtual:url-demo", {"store": store}), ("totp:?drift_ppm=20&offset=-2", {}),
            ("sim-serial:?slots=2&drift_ppm=35", {}), ("fido2-sim:url-demo", {"home": ctx.home})]
    ctx.say("one script, four URLs: enroll, authenticate, verify independently")
    for url, options in urls:
        with open_device(url, reference=ctx.clock, **options) as dev:
            enr = dev.enroll(EnrollRequest(account="alice", rp_id="example.com"))
            auth = dev.authenticate(AuthRequest(at=ctx.clock.now(), rp_id="example.com",
                                                credential_id=enr.credential_id or None))
            ctx.say(f"  [bold]{url}[/] → {dev.kind.value} {dev.identity}: {_verified(dev, enr, auth)}")
    ctx.say("  real hardware: the same script with fido2-hid: or serial:///dev/ttyACM0 "
            "(tokensim device probe URL)")


DEMO_SECTIONS = [(60, "Any device by URL: open_device", _demo)]
