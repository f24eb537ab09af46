"""Product pictures: each picture URL the catalog names is fetched once (ports.ImageFetcher,
which refuses private addresses), checked, stripped of its metadata, resized to two
renditions and stored (ports.ImageRecords); pages show only these copies, never the
merchant's URL. A picture that cannot be had is recorded with its reason and shown to the
merchant; it never stops an import.

The checks, in order: not more bytes than `max_bytes`; Pillow knows the format and it is
JPEG, PNG, WebP or GIF (its first frame); the header's size is at most `max_pixels` (read
before any pixel is decoded, so a small file that unpacks to gigabytes, a decompression
bomb, is refused unread) and at least MIN_SIDE on each side; then it must decode whole."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from hashcart.errors import HashcartError
from hashcart.ports import (
    Clock,
    ImageFetcher,
    ImageFetchFailed,
    ImageRenditions,
    UnitOfWork,
)

# The formats taken, as Pillow names them, and as the merchant reads them. Pillow is asked
# to try only these decoders: a file in any other format is no picture here.
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
# The renditions' longest sides: the product page's picture and the thumbnails of cards,
# cart and checkout lines. /images/<id>/<size> names them by these numbers.
LARGE_SIDE = 800
THUMB_SIDE = 200
CONTENT_TYPE = "image/webp"
# Smaller than this on a side is no product picture (Merchant Center asks for 100 x 100).
MIN_SIDE = 100
UPLOAD_PREFIX = "upload:"
# Pictures fetched by one run of the command (or after one import); the rest wait for the next.
DEFAULT_BATCH = 500


class ImageRefused(HashcartError, ValueError):
    """The bytes are no picture hashcart shows; the message says why."""


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass
class ImagesReport:
    ready: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    waiting: int = 0  # URLs left for a next run (more than the batch)


def renditions_of(data: bytes, limits: ImageLimits) -> ImageRenditions:
    """The checked picture's renditions (WebP, no metadata, turned upright as its EXIF
    orientation says), or ImageRefused with the reason."""
    if len(data) > limits.max_bytes:
        raise ImageRefused(f"the picture is larger than {_megabytes(limits.max_bytes)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=tuple(FORMATS))
    except UnidentifiedImageError:
        raise ImageRefused("not a picture (not JPEG, PNG, WebP or GIF)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("too many pixels (a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError) as error:  # a header cut short or garbled
        raise ImageRefused(f"the picture is damaged ({error})") from None
    with picture:
        kind = FORMATS[picture.format or ""]
        width, height = picture.size
        if width * height > limits.max_pixels:
            raise ImageRefused(
                f"too many pixels: {width} x {height} (at most {limits.max_pixels // 1_000_000}"
                " million)"
            )
        if min(width, height) < MIN_SIDE:
            raise ImageRefused(f"too small: {width} x {height} (at least {MIN_SIDE} a side)")
        try:
            picture.seek(0)  # a GIF's or WebP's first frame
            picture.load()
            upright = ImageOps.exif_transpose(picture)
        except (OSError, ValueError, SyntaxError) as error:
            raise ImageRefused(f"the picture is damaged ({error})") from None
        mode = (
            "RGBA"
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            else "RGB"
        )
        clean = upright.convert(mode)
        return ImageRenditions(
            source_type=kind,
            width=width,
            height=height,
            content_type=CONTENT_TYPE,
            large=_rendition(clean, LARGE_SIDE),
            thumb=_rendition(clean, THUMB_SIDE),
        )


def _rendition(picture: Image.Image, side: int) -> bytes:
    copy = picture.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    copy.info.clear()  # no EXIF, ICC, XMP or comments go on
    out = io.BytesIO()
    copy.save(out, "WEBP", quality=82, method=4)
    return out.getvalue()


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):g} MB"


def upload_name(data: bytes) -> str:
    """An uploaded picture's stand-in URL: the same bytes uploaded twice are one picture."""
    return UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()


def fetch_one(fetcher: ImageFetcher, url: str, limits: ImageLimits) -> ImageRenditions | str:
    """The picture at `url`, checked; or the reason it cannot be shown."""
    try:
        return renditions_of(fetcher.fetch(url), limits)
    except (ImageFetchFailed, ImageRefused) as error:
        return str(error)


def fetch_images(
    units: Callable[[], UnitOfWork],
    fetcher: ImageFetcher,
    clock: Clock,
    limits: ImageLimits,
    *,
    retry: bool = False,
    batch: int = DEFAULT_BATCH,
) -> ImagesReport:
    """Fetch the pictures the catalog names and never had (with `retry`, the failed ones
    again), at most `batch` of them. Each is fetched outside any transaction and recorded
    in its own, so a slow server holds no lock and one failure loses nothing else."""
    with units() as uow:
        wanted = uow.images.wanted_urls(retry)
    report = ImagesReport(waiting=max(0, len(wanted) - batch))
    for url in wanted[:batch]:
        outcome = fetch_one(fetcher, url, limits)
        with units() as uow:
            if isinstance(outcome, str):
                uow.images.record_failed(url, outcome, clock.now())
                report.failed.append((url, outcome))
            else:
                uow.images.record_ready(url, outcome, clock.now())
                report.ready += 1
    return report


def upload_image(
    uow: UnitOfWork, product_id: str, data: bytes, clock: Clock, limits: ImageLimits
) -> str | None:
    """Make an uploaded picture the product's main one (the caller has found the product);
    the reason when the picture cannot be used, None when it is done."""
    try:
        renditions = renditions_of(data, limits)
    except ImageRefused as error:
        return str(error)
    name = upload_name(data)
    uow.images.record_ready(name, renditions, clock.now())
    uow.images.set_product_image(product_id, name)
    return None


def fetch_link(
    units: Callable[[], UnitOfWork],
    fetcher: ImageFetcher,
    clock: Clock,
    limits: ImageLimits,
    url: str,
) -> str | None:
    """Fetch one picture now (the merchant just set it as a product's link) and record it;
    the reason when it failed, else None."""
    outcome = fetch_one(fetcher, url, limits)
    with units() as uow:
        if isinstance(outcome, str):
            uow.images.record_failed(url, outcome, clock.now())
            return outcome
        uow.images.record_ready(url, outcome, clock.now())
    return None
