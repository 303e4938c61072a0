"""QR codes for otpauth:// URIs: write PNG / terminal text with segno, read images with zxing-cpp."""

from __future__ import annotations

import io
import os
from pathlib import Path

from ._fileutil import atomic_write
from .errors import InputError


def qr_png_bytes(uri: str, scale: int = 6) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def write_qr_png(uri: str, path: str | os.PathLike[str], scale: int = 6) -> None:
    """Write the QR code as PNG (0600: it carries the secret)."""
    atomic_write(path, qr_png_bytes(uri, scale), mode=0o600)


def qr_terminal(uri: str) -> str:
    """The QR code as text for a terminal (half-block characters)."""
    import segno

    out = io.StringIO()
    segno.make(uri, error="m", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def read_qr(source: str | os.PathLike[str] | bytes) -> str:
    """Decode the first QR code in an image file (or PNG/JPEG bytes) and return its text."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
        img.load()
    except FileNotFoundError:
        raise InputError(f"QR image {source!s} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        where = "QR image data" if isinstance(source, bytes) else f"QR image {source}"
        raise InputError(f"{where} is not a readable image ({type(e).__name__})") from None
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    results = zxingcpp.read_barcodes(img.convert("L"), formats=qr_only)
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise InputError("no QR code found in the image")
    return str(texts[0])
