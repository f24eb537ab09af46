"""Pictures for the picture tests, made with Pillow, and a picture server on loopback that
serves them (and the answers a bad server gives: a 5xx, a redirect to a private address,
too many bytes, no picture at all)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.loopback import LiveServer


def jpeg_with_exif(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo as a phone writes it: EXIF with the camera and a GPS position."""
    picture = Image.new("RGB", size, "#c0502b")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Pocket 12"  # Model
    exif[0x8825] = {1: "N", 2: (45.0, 30.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (640, 480), mode: str = "RGBA") -> bytes:
    picture = Image.new(mode, size, (40, 120, 90, 200) if mode == "RGBA" else "#28785a")
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header claims width x height pixels (900 million: gigabytes once decoded)
    in a few hundred bytes: the header is all it takes to refuse it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # A few rows of zeros; decoding would ask for the rest.
    idat = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "#123456").save(out, "BMP")
    return out.getvalue()


PICTURES: dict[str, tuple[bytes, str]] = {}


async def _serve(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "broken":
        return Response("upstream fell over", status_code=503)
    if name == "to-private":
        # A redirect to the cloud metadata address: link-local, never fetched.
        return RedirectResponse("http://169.254.169.254/latest/meta-data/", 302)
    if name == "to-good":
        return RedirectResponse("/p/photo.jpg", 302)
    found = PICTURES.get(name)
    if found is None:
        return Response("no such picture", status_code=404)
    data, content_type = found
    return Response(data, media_type=content_type)


@contextmanager
def picture_server() -> Iterator[str]:
    """A picture server on 127.0.0.1; yields its base URL (…/p/<name>)."""
    PICTURES.update(
        {
            "photo.jpg": (jpeg_with_exif(), "image/jpeg"),
            "logo.png": (png(), "image/png"),
            "huge.jpg": (b"\xff\xd8" + b"\x00" * (3 * 1024 * 1024), "image/jpeg"),
            "bomb.png": (png_bomb(), "image/png"),
            "page.html": (b"<html><body>not a picture</body></html>", "text/html"),
            "picture.bmp": (bmp(), "image/bmp"),
        }
    )
    app = Starlette(routes=[Route("/p/{name}", _serve)])
    with LiveServer(app) as server:
        yield server.url + "/p"
