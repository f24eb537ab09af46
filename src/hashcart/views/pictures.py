"""Product pictures as pages show them: hashcart's own renditions (services/images), by the
`images` row's id; a product whose picture is not ready shows a placeholder instead."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from hashcart.store import schema as t
from hashcart.store.images import FAILED, READY, picture_links

# /images/<id>/<size>: the renditions by their longest side (services/images).
SIZES = {"800": t.images.c.large, "200": t.images.c.thumb}
# Product ids asked about in one statement (SQLite's limit on bound parameters).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Picture:
    image_id: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PictureState:
    """What the merchant reads about a product's main picture."""

    link: str | None  # None: the product names none
    image_id: int | None = None  # set when ready
    reason: str | None = None  # set when it failed

    @property
    def waiting(self) -> bool:
        return self.link is not None and self.image_id is None and self.reason is None


def thumbnails(connection: Connection, product_ids: Collection[str]) -> dict[str, int]:
    """Each product's main picture's image id, for those that have one ready."""
    found: dict[str, int] = {}
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            select(t.products.c.product_id, t.images.c.id)
            .join(t.images, t.images.c.source_url == t.products.c.image_link)
            .where(
                t.products.c.product_id.in_(ids[start : start + _CHUNK]),
                t.images.c.status == READY,
            )
        )
        found.update({row.product_id: int(row.id) for row in rows})
    return found


def picture_states(connection: Connection, product_ids: Sequence[str]) -> dict[str, PictureState]:
    """Each product's main picture: ready, failed (with the reason) or waiting to be fetched."""
    states: dict[str, PictureState] = {}
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            select(
                t.products.c.product_id,
                t.products.c.image_link,
                t.images.c.id,
                t.images.c.status,
                t.images.c.reason,
            )
            .outerjoin(t.images, t.images.c.source_url == t.products.c.image_link)
            .where(t.products.c.product_id.in_(ids[start : start + _CHUNK]))
        )
        for row in rows:
            states[row.product_id] = PictureState(
                link=row.image_link,
                image_id=int(row.id) if row.status == READY else None,
                reason=row.reason if row.status == FAILED else None,
            )
    return states


def product_pictures(
    connection: Connection, image_link: str | None, additional: str | None
) -> list[Picture]:
    """The product's pictures that are ready, its main one first."""
    links = picture_links(image_link, additional)
    if not links:
        return []
    rows = connection.execute(
        select(t.images.c.id, t.images.c.source_url, t.images.c.width, t.images.c.height).where(
            t.images.c.source_url.in_(links), t.images.c.status == READY
        )
    )
    by_link = {
        row.source_url: Picture(int(row.id), int(row.width), int(row.height)) for row in rows
    }
    return [by_link[link] for link in links if link in by_link]


def rendition(connection: Connection, image_id: int, size: str) -> tuple[str, bytes] | None:
    """A rendition's content type and bytes; None when there is no such picture or size."""
    column = SIZES.get(size)
    if column is None:
        return None
    row = connection.execute(
        select(t.images.c.content_type, column.label("data")).where(
            t.images.c.id == image_id, t.images.c.status == READY
        )
    ).first()
    if row is None or row.data is None:
        return None
    return str(row.content_type), bytes(row.data)
