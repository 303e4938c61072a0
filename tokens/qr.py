"""QR codes for otpauth:// URIs: write PNG / terminal text with segno, read images with zxing-cpp."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

from .errors import InputError
from .fileutil import atomic_write


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


#: the most pixels decoded at full size (25 megapixels: a 6000x4000 photo).  Larger JPEGs are decoded
#: at 1/2, 1/4 or 1/8 scale (libjpeg's draft mode) until they fit; other larger images are refused
#: before anything is decoded, so a forged header cannot make us allocate gigabytes.
MAX_QR_PIXELS = 25_000_000
#: the largest image file read (bytes); a QR code needs nowhere near this
MAX_QR_FILE_BYTES = 64 * 1024 * 1024


def _describe(source: str | os.PathLike[str] | bytes) -> str:
    return "QR image data" if isinstance(source, bytes) else f"QR image {source}"


def _open_image(source: str | os.PathLike[str] | bytes) -> Any:
    """The image, opened (header read) but not decoded; size-checked against the caps."""
    from PIL import Image

    where = _describe(source)
    if isinstance(source, bytes):
        data = source
    else:
        try:
            size = os.stat(source).st_size
            if size > MAX_QR_FILE_BYTES:
                raise InputError(f"{where} is {size} bytes; the limit is {MAX_QR_FILE_BYTES}")
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise InputError(f"QR image {source!s} does not exist") from None
        except IsADirectoryError:
            raise InputError(f"QR image {source!s} is a directory") from None
        except OSError as e:
            raise InputError(f"cannot read {where}: {e.strerror or e}") from None
    if len(data) > MAX_QR_FILE_BYTES:
        raise InputError(f"{where} is {len(data)} bytes; the limit is {MAX_QR_FILE_BYTES}")
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError as e:  # > 2 x Pillow's MAX_IMAGE_PIXELS
        raise InputError(f"{where} is too large to decode: {e}") from None
    w, h = img.size
    if w <= 0 or h <= 0:
        raise InputError(f"{where} has no pixels ({w}x{h})")
    if w * h > MAX_QR_PIXELS and img.format == "JPEG":
        scale = 1
        while scale < 8 and w * h > MAX_QR_PIXELS * scale * scale:
            scale *= 2
        img.draft("L", (w // scale, h // scale))  # decode at reduced size: bounded memory
        w, h = img.size
    if w * h > MAX_QR_PIXELS:
        raise InputError(f"{where} is {img.size[0]}x{img.size[1]} pixels; the limit is "
                         f"{MAX_QR_PIXELS // 1_000_000} megapixels (scale the image down)")
    return img


def read_qr(source: str | os.PathLike[str] | bytes) -> str:
    """Decode the first QR code in an image file (or PNG/JPEG bytes) and return its text.

    Images above :data:`MAX_QR_PIXELS` are refused before decoding (JPEGs are first decoded at a
    reduced scale); every unreadable input raises :class:`~tokens.errors.InputError`."""
    import zxingcpp
    from PIL import Image

    where = _describe(source)
    try:
        # Pillow warns about corrupt EXIF, invalid APNG, and sizes we cap ourselves: an error or
        # nothing, never a warning on the user's terminal
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = _open_image(source)
            img.load()
            gray = img.convert("L")
    except InputError:
        raise
    except (Image.DecompressionBombError, MemoryError) as e:
        raise InputError(f"{where} is too large to decode ({type(e).__name__})") from None
    except Exception as e:  # Pillow's decoders raise OSError, ValueError, SyntaxError, struct.error ...
        raise InputError(f"{where} is not a readable image ({type(e).__name__})") from None
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    results = zxingcpp.read_barcodes(gray, formats=qr_only)
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise InputError("no QR code found in the image")
    return str(texts[0])
