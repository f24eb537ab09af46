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
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from hashcart.backoff import Backoff
from hashcart.errors import HashcartError
from hashcart.ports import (
    Clock,
    ImageFetcher,
    ImageFetchFailed,
    ImageRenditions,
    UnitOfWork,
)
from hashcart.services.beats import Beat

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
# The background fetch's wait after failures in a row (a picture server down, the
# database away): 10 s, doubling, at most 10 minutes.
FETCH_BACKOFF = Backoff(first=10.0, cap=600.0)

log = logging.getLogger(__name__)


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


class PictureFetch(Beat):
    """The pictures the catalog names and has not got yet, fetched in a daemon thread beside
    `hashcart serve` and `hashcart listen` (issue 14): one at a time (`fetch_next` fetches at
    most one), the next at once after a picture is done, after `every` seconds when none
    waits, and after a growing pause (FETCH_BACKOFF) when fetches fail in a row. `wake()`
    asks for the next at once (a feed just imported). The fetcher refuses private addresses
    as `hashcart catalog images` does: it is the same code."""

    name = "hashcart-pictures"

    def __init__(
        self,
        fetch_next: Callable[[], ImagesReport],
        every: float,
        backoff: Backoff = FETCH_BACKOFF,
    ) -> None:
        super().__init__(every)
        self.fetch_next = fetch_next
        self.backoff = backoff
        self.failures = 0
        # Whether the last step left no picture waiting (fetched or failed, each recorded).
        self.nothing_waits = False
        self._wake = threading.Event()
        # Wakes asked for, and the last one after which a step found no picture waiting.
        self._changed = threading.Condition()
        self._asked = 0
        self._settled = -1

    def describe(self) -> str:
        """Its line in `hashcart serve`'s banner."""
        return (
            "  pictures:         the catalog's new pictures fetched one at a time, "
            f"looked for every {self.every:.0f} s"
        )

    def step(self) -> float:
        """Fetch the next picture, if one waits; how long to wait before the next step."""
        self.nothing_waits = False
        try:
            report = self.fetch_next()
        except Exception:
            self.failures += 1
            delay = self.backoff.delay(self.failures)
            log.exception("fetching a picture failed; the next try is in %.0f s", delay)
            return delay
        self.nothing_waits = not report.waiting
        if report.failed:
            self.failures += 1
            return self.backoff.delay(self.failures)
        self.failures = 0
        return 0.0 if report.ready and report.waiting else self.every

    def beat(self) -> None:
        self.step()

    def wake(self) -> None:
        """Look for pictures at once (a feed was just imported)."""
        with self._changed:
            self._asked += 1
            self._wake.set()

    def wait_settled(self, timeout: float) -> bool:
        """Wait until a step that began after the last wake() found no picture waiting
        (each fetched, or failed and recorded); False if `timeout` seconds pass first."""
        with self._changed:
            asked = self._asked
            return self._changed.wait_for(lambda: self._settled >= asked, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._wake.set()  # out of its wait at once
        super().stop(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._changed:
                self._wake.clear()  # before the step: a wake during it is kept
                seen = self._asked
            delay = self.step()
            if self.nothing_waits:
                with self._changed:
                    self._settled = max(self._settled, seen)
                    self._changed.notify_all()
            if delay > 0:
                self._wake.wait(delay)
