"""Serial token benchmark: GET_CODE round trip through the driver, over a real pseudo-terminal.

Each sample is one ``SerialToken.get_code`` call: frame encoding, a write to the pty slave, the
runner thread's select/read, the firmware (COBS, CRC, HMAC), the write back and the driver's
decode.  Reported as median and 99th percentile in milliseconds; the socket:// round trip is
reported alongside for comparison.
"""

from __future__ import annotations

import statistics
import time

SUITE_NAME = "serial"


def _rtts(url_kind: str, n: int) -> list[float]:
    from firmware_sim.build import make_firmware
    from firmware_sim.runner import PtyRunner, Runner, TcpRunner
    from hw.token import SerialToken

    fw = make_firmware(serial="TSBENCH01", pin="123456")
    runner: Runner = PtyRunner(fw) if url_kind == "pty" else TcpRunner(fw)
    with runner:
        tok = SerialToken.open(runner.url, pin="123456", timeout=1.0)
        try:
            tok.provision(0, bytes(range(20)))
            for _ in range(50):  # warm-up: caches, scheduler, branch predictors
                tok.get_code(0)
            out = []
            for _ in range(n):
                t = time.perf_counter()
                tok.get_code(0)
                out.append((time.perf_counter() - t) * 1000.0)
        finally:
            tok.close()
    return out


def _p99(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def measure(quick: bool) -> dict[str, float | int | str]:
    n = 300 if quick else 3000
    pty = _rtts("pty", n)
    tcp = _rtts("tcp", n // 3)
    return {
        "serial_get_code_rtt_median_ms": round(statistics.median(pty), 4),
        "serial_get_code_rtt_p99_ms": round(_p99(pty), 4),
        "serial_get_code_samples": n,
        "serial_socket_get_code_rtt_median_ms": round(statistics.median(tcp), 4),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure("--quick" in sys.argv)))
