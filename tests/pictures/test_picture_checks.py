"""Each check a picture passes before the shop shows it (services/images.renditions_of), and
what it becomes: two WebP renditions without the original's metadata."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hashcart.services.images import (
    LARGE_SIDE,
    THUMB_SIDE,
    ImageLimits,
    ImageRefused,
    renditions_of,
)
from tests.pictures.support import bmp, jpeg_with_exif, png, png_bomb

LIMITS = ImageLimits(max_bytes=2 * 1024 * 1024, max_pixels=40_000_000)


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_jpeg_becomes_two_webp_renditions_without_its_exif() -> None:
    original = jpeg_with_exif((1600, 1200))
    assert opened(original).getexif()  # the camera and the GPS position are in it

    done = renditions_of(original, LIMITS)

    assert (done.source_type, done.width, done.height) == ("JPEG", 1600, 1200)
    assert done.content_type == "image/webp"
    large, thumb = opened(done.large), opened(done.thumb)
    assert (large.format, large.size) == ("WEBP", (LARGE_SIDE, 600))
    assert (thumb.format, thumb.size) == ("WEBP", (THUMB_SIDE, 150))
    for rendition in (large, thumb):
        assert not rendition.getexif()
        assert not {"exif", "icc_profile", "xmp"} & set(rendition.info)
    for data in (done.large, done.thumb):
        assert b"PhoneMaker" not in data and b"Exif" not in data


def test_a_png_keeps_its_transparency_and_is_not_enlarged() -> None:
    done = renditions_of(png((640, 480)), LIMITS)
    large = opened(done.large)
    assert done.source_type == "PNG"
    assert large.size == (640, 480)  # smaller than 800: kept as it is
    assert large.mode == "RGBA"
    assert opened(done.thumb).size == (THUMB_SIDE, 150)


def test_the_first_frame_of_a_gif_is_taken() -> None:
    frames = [Image.new("P", (300, 300), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    done = renditions_of(out.getvalue(), LIMITS)
    assert done.source_type == "GIF"
    assert getattr(opened(done.large), "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xd8" + b"\x00" * (2 * 1024 * 1024), "larger than 2 MB"),
        (b"<html>not a picture</html>", "not a picture"),
        (bmp(), r"not a picture \(not JPEG, PNG, WebP or GIF\)"),
        (png_bomb(30_000, 30_000), "too many pixels"),
        (png((80, 300), "RGB"), "too small: 80 x 300"),
        (jpeg_with_exif((400, 400))[:600], "damaged"),
    ],
    ids=["too-big", "not-a-picture", "bad-type", "bomb", "too-small", "truncated"],
)
def test_a_picture_that_fails_a_check_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRefused, match=reason):
        renditions_of(data, LIMITS)


def test_the_pixel_limit_is_read_from_the_header_before_decoding() -> None:
    # 6000 x 7000 = 42 MP: over 40 MP, refused although the file is small.
    bomb = png_bomb(6000, 7000)
    assert len(bomb) < 100_000
    with pytest.raises(ImageRefused, match="6000 x 7000"):
        renditions_of(bomb, LIMITS)
