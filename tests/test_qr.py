"""QR images: round trips, and issue 19 finding 7 (a forged or huge image must not exhaust memory)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tokens._cli.main import main
from tokens.errors import InputError
from tokens.qr import MAX_QR_PIXELS, qr_png_bytes, read_qr

URI = "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME"


def png_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose IHDR claims ``width``x``height`` (8-bit grey) with whatever IDAT follows."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat or zlib.compress(b"\0" * 64)) \
        + chunk(b"IEND", b"")


def test_round_trip() -> None:
    assert read_qr(qr_png_bytes(URI)) == URI


def test_finding7_forged_30000x30000_header_is_one_line_error(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = png_header(30000, 30000)
    with pytest.raises(InputError, match="too large"):
        read_qr(data)
    f = tmp_path / "bomb.png"
    f.write_bytes(data)
    rc = main(["totp", "import", "--qr", str(f), "bomb"])
    err = capsys.readouterr().err
    assert rc not in (0, 70) and err.startswith("error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("size", [(12000, 12000), (MAX_QR_PIXELS + 1, 1), (1, MAX_QR_PIXELS + 1)])
def test_finding7_header_over_the_cap_refused_before_decoding(size: tuple[int, int]) -> None:
    with pytest.raises(InputError, match="megapixels"):
        read_qr(png_header(*size))


_MEASURE = """
import json, resource, sys
from tokens.errors import InputError
from tokens.qr import read_qr
try:
    out = {"text": read_qr(sys.argv[1])}
except InputError as e:
    out = {"error": str(e)}
out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out))
"""

_MAKE = """
import sys
from PIL import Image
from tokens.qr import qr_png_bytes
import io
n, kind, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if kind == "PNG":
    Image.new("1", (n, n), 1).save(path)  # 1-bit: small to create, 144 MB as 8-bit grey
else:
    img = Image.new("L", (n, n), 255)
    qr = Image.open(io.BytesIO(qr_png_bytes(sys.argv[4], scale=1))).convert("L")
    img.paste(qr.resize((n * 2 // 3, n * 2 // 3), Image.NEAREST), (n // 6, n // 6))
    img.save(path, quality=90)
"""


def _measure(path: Path) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True,
                       timeout=120, check=True)
    out: dict[str, object] = json.loads(r.stdout)
    return out


def _baseline(tmp_path: Path) -> int:
    small = tmp_path / "small.png"
    small.write_bytes(qr_png_bytes(URI))
    base = _measure(small)
    assert base["text"] == URI
    return int(str(base["maxrss_kb"]))


@pytest.mark.slow
def test_finding7_12000x12000_png_refused_with_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    subprocess.run([sys.executable, "-c", _MAKE, "12000", "PNG", str(big)], check=True, timeout=120)
    out = _measure(big)
    assert "megapixels" in str(out["error"])
    assert int(str(out["maxrss_kb"])) - _baseline(tmp_path) < 40_000  # KiB: nothing decoded (was ~440 MB)


@pytest.mark.slow
def test_finding7_12000x12000_jpeg_decoded_at_reduced_scale(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    subprocess.run([sys.executable, "-c", _MAKE, "12000", "JPEG", str(big), URI], check=True, timeout=120)
    out = _measure(big)
    assert out.get("text") == URI, out
    # decoded at 1/4 scale (3000x3000 grey ≈ 9 MB) instead of 144 MB
    assert int(str(out["maxrss_kb"])) - _baseline(tmp_path) < 60_000
