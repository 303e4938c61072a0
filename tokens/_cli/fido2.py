"""``tokensim fido2``: create, inspect, reset and serve persisted software FIDO2 authenticators."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from . import output
from .common import port_number, positive_int

FAULT_NAMES = ("clone, counter-regression, zero-counter, bad-signature, wrong-rpid, clear-up, clear-uv, "
               "set-uv (docs/fido2.md)")

if TYPE_CHECKING:
    from .demo import DemoContext


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")




def _summary(name: str) -> dict[str, Any]:
    from ..fido2 import state as store

    st = store.load(name)
    return {
        "name": name, "model": st.model, "aaguid": st.aaguid.hex(),
        "algorithms": [a.label for a in st.algorithms],
        "attestation": st.attestation.value, "uv": st.uv.value, "pin_set": st.pin_hash is not None,
        "pin_retries": st.pin_retries, "resident_credentials": len(st.resident), "capacity": st.capacity,
        "counter_mode": st.counter_mode.value, "backup": st.backup.value,
        "path": str(store.state_path(name)),
    }


def cmd_new(args: argparse.Namespace) -> int:
    from fido2.ctap2.base import Ctap2
    from fido2.ctap2.pin import ClientPin

    from ..fido2 import Alg, Authenticator, AuthenticatorState, SoftCtapDevice
    from ..fido2.adapters import store
    from ..fido2.authenticator import models

    store.state_path(args.name)  # validates the name
    if args.pin is not None and not 4 <= len(args.pin) <= 63:
        raise InputError("PIN must be 4 to 63 characters")
    if args.capacity is not None and args.capacity < 0:
        raise InputError("--capacity must not be negative")
    try:
        model = models.get(args.model)
    except ValueError as e:
        raise InputError(str(e)) from None
    attestation = args.attestation or ("batch" if model.aaguid else "self")
    st = AuthenticatorState.new(algorithms=[Alg.parse(args.alg)] if args.alg else None,
                                attestation=attestation, uv=args.uv, capacity=args.capacity,
                                counter_mode=args.counter, name=args.name, model=model,
                                ca=store.model_ca(model) if attestation == "batch" else None,
                                ep_rp_ids=args.ep_rp_id or (), backup=args.backup)
    if args.pin is not None:  # set it the way a platform would: ClientPIN setPIN
        ClientPin(Ctap2(SoftCtapDevice(Authenticator(st)))).set_pin(args.pin)
    path = store.create(st)
    info = _summary(args.name)
    if args.json:
        output.print_json(info)
    else:
        print(f"created FIDO2 authenticator {args.name} (AAGUID {info['aaguid']}) in {path}")
    return 0


def cmd_metadata(args: argparse.Namespace) -> int:
    from ..fido2.adapters import metadata, store
    from ..fido2.authenticator import models

    if bool(args.name) == bool(args.model):
        raise InputError("give an authenticator NAME or --model MODEL")
    if args.name:
        st = store.load(args.name)
        if st.batch is None:
            raise InputError(f"{args.name} has no batch attestation (created with --attestation "
                             f"{st.attestation.value}): nothing for an MDS statement to trust")
        output.print_json(metadata.statement(st.spec, st.batch.ca_der, st))
        return 0
    try:
        model = models.get(args.model)
    except ValueError as e:
        raise InputError(str(e)) from None
    if model.aaguid is None:
        raise InputError(f"model {model.name} gives each authenticator its own AAGUID: use "
                         "'tokensim fido2 metadata NAME'")
    output.print_json(metadata.statement(model, store.model_ca(model).cert_der))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ..fido2 import state as store

    rows = [_summary(n) for n in store.names()]
    if args.json:
        output.print_json(rows)
    elif not rows:
        print("no FIDO2 authenticators (create one with 'tokensim fido2 new NAME')")
    else:
        output.table(["name", "aaguid", "algorithms", "attestation", "uv", "PIN", "resident"],
                     [(r["name"], r["aaguid"], ",".join(r["algorithms"]), r["attestation"], r["uv"],
                       "set" if r["pin_set"] else "-", f"{r['resident_credentials']}/{r['capacity']}")
                      for r in rows])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ..fido2 import state as store

    info = _summary(args.name)
    st = store.load(args.name)
    if args.ca_pem:
        if st.batch is None:
            raise InputError(f"{args.name} has no batch attestation (created with --attestation "
                             f"{st.attestation.value})")
        print(st.batch.ca_pem.decode(), end="")
        return 0
    info["global_counter"] = st.global_counter
    info["attestation_ca"] = st.batch.ca_der.hex() if st.batch else None
    if args.json:
        output.print_json(info)
    else:
        output.kv({k: v for k, v in info.items() if k != "attestation_ca"}, title=f"FIDO2 {args.name}")
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    from ..fido2 import state as store
    from ..fido2.authenticator.credentials import counter_key

    st = store.load(args.name)
    rows = [{"rp_id": c.rp_id, "user_name": c.user.get("name", ""),
             "user_id": c.user["id"].hex() if "id" in c.user else "", "credential_id": c.credential_id.hex(),
             "alg": c.alg.label, "cred_protect": c.cred_protect,
             "counter": st.counters.get(counter_key(c.credential_id), 0), "created": c.created}
            for c in st.resident]
    if args.json:
        output.print_json(rows)
    elif not rows:
        print(f"{args.name} holds no discoverable credentials")
    else:
        output.table(["rp id", "user", "credential id", "alg", "credProtect", "counter"],
                     [(r["rp_id"], r["user_name"], str(r["credential_id"])[:16] + "...", r["alg"],
                       r["cred_protect"], r["counter"]) for r in rows])
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from ..fido2 import Authenticator
    from ..fido2 import state as store
    from ..fido2.errors import CtapStatus

    with store.InUse(args.name):
        st = store.load(args.name)
        status = Authenticator(st).process(b"\x07")  # authenticatorReset, just after "power-up"
        if status != b"\x00":
            raise CtapStatus(status[0], "reset refused")
        store.save(st)
    if args.json:
        output.print_json({"name": args.name, "reset": True, "aaguid": st.aaguid.hex()})
    else:
        print(f"{args.name}: every credential and the PIN are gone")
    return 0


def _ceremony(args: argparse.Namespace, create: bool) -> int:
    import sys
    from pathlib import Path

    from ..fido2 import Authenticator, SoftCtapDevice, inject
    from ..fido2 import state as store
    from ..fido2.adapters import platform
    from ..fido2.authenticator.faults import named

    try:
        if args.options == "-":
            stdin = getattr(sys.stdin, "buffer", None)  # bytes, so a non-UTF-8 pipe is one clean error
            raw = stdin.read() if stdin is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
        else:
            raw = Path(args.options).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {args.options}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{args.options} is not UTF-8 (byte {e.start}): expected the RP's options JSON") \
            from None
    options = platform.parse_options(text)
    if bool(args.name) == bool(args.device):
        raise InputError("give an authenticator NAME or --device URL")
    _check_origin(options, args.origin, create)
    from ..open.interaction import CliInteraction

    ui = CliInteraction(args.pin)  # the PIN chain: --pin, $TOKENSIM_PIN, the terminal, else an error
    fault = None
    if args.fault:
        try:
            fault = named(args.fault)
        except ValueError as e:
            raise InputError(str(e)) from None
        if args.device:
            raise InputError("--fault needs a tokensim authenticator NAME, not --device")
    if args.device:  # any FIDO2 key by URL (docs/device-urls.md), e.g. a USB key: fido2-hid:
        from ._device_probe import open_fido2

        key = open_fido2(args.device)
        with key:
            output.print_json((platform.create if create else platform.get)(
                key.ctap_device, options, args.origin, interaction=ui))
        return 0
    with store.InUse(args.name):
        st = store.load(args.name)
        auth = Authenticator(st)
        if fault is not None:
            inject(auth, fault)
        run = platform.create if create else platform.get
        try:
            response = run(SoftCtapDevice(auth), options, args.origin, interaction=ui)
        finally:
            if auth.dirty:
                store.save(st)
    output.print_json(response)
    return 0


def _check_origin(options: Any, origin: str | None, create: bool) -> None:
    """A browser refuses an RP id that is neither the origin's host nor a parent domain of it; say
    so in those words (python-fido2 reports only BAD_REQUEST)."""
    from fido2.rpid import verify_rp_id

    rp = options.get("rp") if create else None
    rp_id = rp.get("id") if isinstance(rp, dict) else (None if create else options.get("rpId"))
    if not origin or not isinstance(rp_id, str) or not rp_id:
        return
    if origin.startswith(("https://", "http://localhost")) and not verify_rp_id(rp_id, origin):
        raise InputError(f"origin {origin} may not use the RP id {rp_id!r} of these options: the RP "
                         f"id must be the origin's host or a parent domain of it (e.g. --origin "
                         f"https://{rp_id}); a browser refuses this too")


def cmd_register(args: argparse.Namespace) -> int:
    return _ceremony(args, create=True)


def cmd_login(args: argparse.Namespace) -> int:
    return _ceremony(args, create=False)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..fido2 import state as store

    lock = store.InUse(args.name).acquire()
    try:
        _serve(args, store.load(args.name))
    finally:
        lock.release()
    return 0


def _serve(args: argparse.Namespace, st: Any) -> None:
    import signal
    import threading

    from ..fido2 import Authenticator, SoftCtapDevice, clear, inject
    from ..fido2 import state as store
    from ..fido2.authenticator.faults import ForNext, named
    from ..fido2.transport.control import ControlServer
    from ..fido2.udp import UdpCtapHidServer
    from ..fido2.user import presence_for

    try:
        presence = presence_for(args.presence)
    except ValueError as e:
        raise InputError(str(e)) from None
    auth = Authenticator(st, presence=presence)

    def save() -> None:
        if auth.dirty:
            auth.dirty = False
            store.save(st)

    def power_on() -> None:
        with auth._lock:
            auth.power_cycle()

    def arm(name: str, count: int) -> None:
        with auth._lock:
            clear(auth)
            if name != "none":
                inject(auth, ForNext(named(name), count))

    def status() -> dict[str, Any]:
        return {"name": args.name, "powered": server.powered, "signer": repr(auth.signer)}

    if args.fault:
        try:
            arm(args.fault, args.fault_count)
        except ValueError as e:
            raise InputError(str(e)) from None
    stop = threading.Event()
    got: list[int] = []

    def on_term(signum: int, _frame: Any) -> None:
        got.append(signum)
        stop.set()

    server = UdpCtapHidServer(SoftCtapDevice(auth, allow_power_cycle=args.allow_power_cycle), host=args.host,
                              port=args.port, reply_port=args.reply_port or None, after_command=save,
                              on_power_on=power_on)
    control = None
    previous = signal.signal(signal.SIGTERM, on_term)
    started = False
    try:
        server.start()
        started = True
        ready: dict[str, Any] = {"host": server.host, "port": server.port,
                                 "reply_port": args.reply_port or None, "name": args.name,
                                 "aaguid": st.aaguid.hex()}
        if args.control_port is not None:
            control = ControlServer(port=args.control_port, fault=arm, status=status,
                                    power=lambda on: server.power_on() if on else server.power_off()).start()
            ready["control_url"] = f"http://{control.host}:{control.port}"
        output.server_ready(ready)
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            got.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if control is not None:
            control.stop()
        server.stop()
        save()
    if started:
        output.server_stopped(got[0] if got else None, name=args.name)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("fido2", help="software FIDO2 authenticators (CTAP 2.1, U2F)")
    s = p.add_subparsers(dest="fido2_command", metavar="ACTION", required=True)

    n = s.add_parser("new", help="create a persisted software authenticator")
    n.add_argument("name")
    n.add_argument("--alg", choices=["ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"],
                   help="only this algorithm (default: the model's; generic offers all six)")
    n.add_argument("--model", default="generic", metavar="MODEL",
                   help="key model: generic, yubikey5, yubikey5-fw54, yubikey-bio, solo, feitian "
                   "(docs/fido2.md)")
    n.add_argument("--attestation", choices=["none", "self", "batch"],
                   help="default: batch for a vendor model (chained to this home's model CA), else self")
    n.add_argument("--pin", help="set this PIN (4-63 characters)")
    n.add_argument("--uv", choices=["auto", "deny", "none"],
                   help="built-in UV: auto = matches, deny = never matches, none = no sensor "
                   "(default: the model's)")
    n.add_argument("--capacity", type=int, help="discoverable credential slots (default: the model's)")
    n.add_argument("--counter", choices=["per-credential", "global", "zero"], default="per-credential")
    n.add_argument("--backup", choices=["none", "eligible", "synced"], default="none",
                   help="BE/BS flags of its credentials: eligible = BE (may sync), synced = BE+BS")
    n.add_argument("--ep-rp-id", action="append", metavar="RP_ID",
                   help="an RP ID that gets vendor-facilitated enterprise attestation (repeatable)")
    _json(n)
    n.set_defaults(func=cmd_new)

    md = s.add_parser("metadata", help="a FIDO MDS3 metadata statement (JSON) trusting tokensim's batch CA")
    md.add_argument("name", nargs="?", help="an authenticator (its model, AAGUID and CA)")
    md.add_argument("--model", metavar="MODEL", help="a key model (its AAGUID and this home's model CA)")
    md.add_argument("--json", action="store_true", help="accepted like everywhere: the statement is JSON")
    md.set_defaults(func=cmd_metadata)

    ls = s.add_parser("list", help="list authenticators")
    _json(ls)
    ls.set_defaults(func=cmd_list)

    sh = s.add_parser("show", help="show one authenticator (no secrets)")
    sh.add_argument("name")
    sh.add_argument("--ca-pem", action="store_true", help="print the attestation CA certificate (PEM)")
    _json(sh)
    sh.set_defaults(func=cmd_show)

    c = s.add_parser("credentials", help="list discoverable credentials")
    c.add_argument("name")
    _json(c)
    c.set_defaults(func=cmd_credentials)

    r = s.add_parser("reset", help="authenticatorReset: wipe credentials and PIN")
    r.add_argument("name")
    _json(r)
    r.set_defaults(func=cmd_reset)

    for verb, fn, what in (("register", cmd_register, "navigator.credentials.create"),
                           ("login", cmd_login, "navigator.credentials.get")):
        w = s.add_parser(verb, help=f"play the browser: {what} for an RP's options JSON, print the response")
        w.add_argument("name", nargs="?")
        w.add_argument("--device", metavar="URL", help="a FIDO2 key by URL instead (fido2-hid:, fido2-udp://...)")
        w.add_argument("--options", required=True, metavar="FILE",
                       help="the RP's PublicKeyCredential*Options JSON ('-' for stdin)")
        w.add_argument("--origin", help="client origin (default https://RP_ID)")
        w.add_argument("--pin", help="PIN to use when the authenticator has one (else $TOKENSIM_PIN, else "
                                     "asked on the terminal; without a terminal: an error)")
        w.add_argument("--fault", metavar="NAME", help="answer with a relying-party fault: " + FAULT_NAMES)
        _json(w)
        w.set_defaults(func=fn)

    sv = s.add_parser("serve", help="serve over CTAPHID/UDP until interrupted",
                      description="Serve the authenticator over CTAPHID/UDP until Ctrl-C or SIGTERM. Prints "
                                  'one JSON line {"event": "ready", "host", "port", ...} when it listens and '
                                  '{"event": "stopped", ...} when it ends (output is always JSON lines).')
    sv.add_argument("name")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=port_number, default=8111, help="UDP port to listen on (0: any free port)")
    sv.add_argument("--reply-port", type=port_number, default=7112,
                    help="UDP port replies go to (0: reply to the sender's address)")
    sv.add_argument("--presence", default="approve", help="user presence: approve | deny | timeout")
    sv.add_argument("--control-port", type=port_number, metavar="PORT",
                    help="serve the local HTTP control channel (unplug/replug, faults) on this port (0: any)")
    sv.add_argument("--allow-power-cycle", action="store_true",
                    help="honour the CTAPHID vendor power-cycle command (it reopens the reset window)")
    sv.add_argument("--fault", metavar="NAME", help="arm a relying-party fault: " + FAULT_NAMES)
    sv.add_argument("--fault-count", type=positive_int, default=1, metavar="N",
                    help="... for the next N assertions (default 1)")
    _json(sv)
    sv.set_defaults(func=cmd_serve)


# -- demo -----------------------------------------------------------------------------------------------

def _demo(ctx: DemoContext) -> None:
    from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
    from fido2.server import Fido2Server
    from fido2.webauthn import (
        PublicKeyCredentialRpEntity,
        PublicKeyCredentialUserEntity,
        UserVerificationRequirement,
    )

    from ..fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

    class _Ui(UserInteraction):
        def request_pin(self, permissions: Any, rd_id: str | None) -> str | None:
            return "4321"

    auth = Authenticator(AuthenticatorState.new(attestation="self", name="demo"))
    from fido2.ctap2.base import Ctap2
    from fido2.ctap2.pin import ClientPin

    ClientPin(Ctap2(SoftCtapDevice(auth))).set_pin("4321")
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="Example"))
    collector = DefaultClientDataCollector("https://example.com")
    client = Fido2Client(SoftCtapDevice(auth), collector, user_interaction=_Ui())
    uv = UserVerificationRequirement.REQUIRED
    opts, state = server.register_begin(PublicKeyCredentialUserEntity(id=b"alice-id", name="alice"),
                                        user_verification=uv)
    reg = server.register_complete(state, client.make_credential(opts.public_key))
    cred = reg.credential_data
    assert cred is not None
    ctx.say(f"registered alice at example.com: credential {cred.credential_id.hex()[:24]}..., "
            f"alg {cred.public_key.ALGORITHM}, UV={reg.is_user_verified()}")
    stored_counter = reg.counter

    def login(device_auth: Authenticator, who: str) -> None:
        nonlocal stored_counter
        c = Fido2Client(SoftCtapDevice(device_auth), collector, user_interaction=_Ui())
        opts, state = server.authenticate_begin([cred], user_verification=uv)
        resp = c.get_assertion(opts.public_key).get_response(0)
        server.authenticate_complete(state, [cred], resp)
        counter = resp.response.authenticator_data.counter
        if counter <= stored_counter and not (counter == 0 and stored_counter == 0):
            ctx.say(f"[red]{who}: signature valid, but sign counter {counter} <= stored {stored_counter}: "
                    "cloned authenticator detected, login refused[/red]")
            return
        stored_counter = counter
        ctx.say(f"{who}: login ok (signature, origin, rpIdHash, UP/UV checked), counter {counter}")

    clone = auth.clone()  # a copy of the key taken now
    login(auth, "original key")
    login(auth, "original key")
    login(clone, "cloned key  ")


DEMO_SECTIONS = [(30, "FIDO2: register and log in against python-fido2's Fido2Server", _demo)]
