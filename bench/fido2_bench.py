"""FIDO2 benchmark: getAssertion (ES256, one credential in the allowList) per second.

fido2_get_assertion_inproc_per_s   authenticator throughput in-process: the CTAPHID.CBOR payload
                                   through ``SoftCtapDevice.call`` (CBOR decode + canonical check,
                                   credential unwrap, counter, ECDSA P-256 signature, CBOR encode)
fido2_get_assertion_udp_per_s      the same request over CTAPHID/UDP from this process to an
                                   authenticator in a child process, framed by python-fido2's
                                   ``CtapHidDevice`` (request/response fragmentation both ways)
*_ctap2_per_s                      the same through python-fido2's ``Ctap2.get_assertion`` — it adds
                                   python-fido2's own response parsing (about 1-2 ms per call in 2.2.1),
                                   reported for context
fido2_get_assertion_inproc_eddsa_per_s   in-process with an Ed25519 credential
fido2_get_assertion_inproc_per_cpu_s     in-process calls per CPU-second of the benchmark process: what
                                         one otherwise idle core does (wall-clock rates drop when other
                                         processes share the CPU)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

SUITE_NAME = "fido2"
RP = "bench.example"


def _request(cred_id: bytes) -> bytes:
    from fido2 import cbor

    return b"\x02" + cbor.encode({1: RP, 2: b"\x01" * 32, 3: [{"id": cred_id, "type": "public-key"}]})


def _credential(ctap2: Any, alg: int) -> bytes:
    att = ctap2.make_credential(os.urandom(32), {"id": RP}, {"id": b"bench"},
                                [{"type": "public-key", "alg": alg}])
    return bytes(att.auth_data.credential_data.credential_id)


def _rates(fn: Any, seconds: float, warmup: int = 50) -> tuple[float, float]:
    """(calls per wall-clock second, calls per CPU second of this process)."""
    for _ in range(warmup):
        fn()
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn()
        n += 50
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start), n / max(time.process_time() - cpu, 1e-9)


def _rate(fn: Any, seconds: float) -> float:
    return _rates(fn, seconds)[0]


def _inproc(seconds: float, alg: int) -> tuple[tuple[float, float], float]:
    from fido2.ctap2.base import Ctap2
    from fido2.hid import CTAPHID

    from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

    dev = SoftCtapDevice(Authenticator(AuthenticatorState.new(attestation="none")))
    ctap2 = Ctap2(dev)
    cid = _credential(ctap2, alg)
    req = _request(cid)

    def raw() -> None:
        if dev.call(CTAPHID.CBOR, req)[0] != 0:
            raise RuntimeError("getAssertion failed")

    allow: list[Any] = [{"id": cid, "type": "public-key"}]
    return _rates(raw, seconds), _rate(lambda: ctap2.get_assertion(RP, b"\x01" * 32, allow), seconds / 3)


def _udp(seconds: float) -> tuple[float, float]:
    from fido2.ctap2.base import Ctap2
    from fido2.hid import CTAPHID

    from tokens.fido2.udp import open_udp_device

    proc = subprocess.Popen([sys.executable, "-P", os.path.abspath(__file__), "--serve"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        dev = open_udp_device(port=port, reply_port=0, timeout=10.0)
        ctap2 = Ctap2(dev)
        cid = _credential(ctap2, -7)
        req = _request(cid)

        def raw() -> None:
            if dev.call(CTAPHID.CBOR, req)[0] != 0:
                raise RuntimeError("getAssertion failed")

        allow: list[Any] = [{"id": cid, "type": "public-key"}]
        rates = _rate(raw, seconds), _rate(lambda: ctap2.get_assertion(RP, b"\x01" * 32, allow), seconds / 3)
        dev.close()
        return rates
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure(quick: bool) -> dict[str, float | int | str]:
    seconds = 1.0 if quick else 4.0
    (inproc, inproc_cpu), inproc_ctap2 = _inproc(seconds, -7)
    (eddsa, _), _ = _inproc(seconds / 2, -8)
    udp, udp_ctap2 = _udp(seconds)
    return {
        "fido2_get_assertion_inproc_per_s": round(inproc, 1),
        "fido2_get_assertion_inproc_per_cpu_s": round(inproc_cpu, 1),
        "fido2_get_assertion_udp_per_s": round(udp, 1),
        "fido2_get_assertion_inproc_ctap2_per_s": round(inproc_ctap2, 1),
        "fido2_get_assertion_udp_ctap2_per_s": round(udp_ctap2, 1),
        "fido2_get_assertion_inproc_eddsa_per_s": round(eddsa, 1),
    }


def _serve() -> None:
    """Child process: an in-memory authenticator on a free UDP port, replying to the sender."""
    import threading

    from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice
    from tokens.fido2.udp import UdpCtapHidServer

    server = UdpCtapHidServer(SoftCtapDevice(Authenticator(AuthenticatorState.new(attestation="none"))),
                              port=0, reply_port=None).start()
    print(json.dumps({"port": server.port}), flush=True)
    threading.Event().wait(600)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        _serve()
    else:
        print(json.dumps(measure("--quick" in sys.argv), indent=1))
