"""The `images` table (ports.ImageRecords): each picture URL a product names, fetched once,
kept as its renditions or with the reason it could not be had. Uploaded pictures are rows
too, named `upload:<sha256>` (services/images.upload_name)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, select, update

from hashcart.ports import ImageRenditions
from hashcart.store import schema as t
from hashcart.store.statements import dialect_insert

READY = "ready"
FAILED = "failed"


def picture_links(image_link: str | None, additional: str | None) -> list[str]:
    """A product's picture URLs, its main one first (additional ones are stored one a line)."""
    links = [image_link] if image_link else []
    links += [url for url in (additional or "").split("\n") if url and url not in links]
    return links


class StoredImages:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def wanted_urls(self, retry: bool) -> list[str]:
        named: set[str] = set()
        rows = self.connection.execute(
            select(t.products.c.image_link, t.products.c.additional_image_links).where(
                (t.products.c.image_link.is_not(None))
                | (t.products.c.additional_image_links.is_not(None))
            )
        )
        for row in rows:
            named.update(picture_links(row.image_link, row.additional_image_links))
        done = select(t.images.c.source_url)
        if retry:
            done = done.where(t.images.c.status == READY)
        known = set(self.connection.execute(done).scalars())
        fetchable = (url for url in named - known if url.startswith(("http://", "https://")))
        return sorted(fetchable)

    def record_ready(self, source_url: str, renditions: ImageRenditions, at: datetime) -> int:
        values = {
            "source_url": source_url,
            "status": READY,
            "reason": None,
            "source_type": renditions.source_type,
            "width": renditions.width,
            "height": renditions.height,
            "content_type": renditions.content_type,
            "large": renditions.large,
            "thumb": renditions.thumb,
            "created_at": at,
            "fetched_at": at,
        }
        self._upsert(values)
        found = self.connection.execute(
            select(t.images.c.id).where(t.images.c.source_url == source_url)
        ).scalar_one()
        return int(found)

    def record_failed(self, source_url: str, reason: str, at: datetime) -> None:
        self._upsert(
            {
                "source_url": source_url,
                "status": FAILED,
                "reason": reason[:500],
                "source_type": None,
                "width": None,
                "height": None,
                "content_type": None,
                "large": None,
                "thumb": None,
                "created_at": at,
                "fetched_at": at,
            }
        )

    def _upsert(self, values: Mapping[str, object]) -> None:
        # The row keeps its id (pages link /images/<id>/…) and when it was first named; a
        # ready row is never written again, so what /images/<id>/… serves never changes (it
        # is cached for a year) and a later failure cannot take a working picture away.
        insert = dialect_insert(self.connection.dialect.name, t.images)
        kept = ("id", "source_url", "created_at")
        statement = insert.on_conflict_do_update(
            index_elements=[t.images.c.source_url],
            set_={c.name: insert.excluded[c.name] for c in t.images.columns if c.name not in kept},
            where=t.images.c.status != READY,
        )
        self.connection.execute(statement, values)

    def set_product_image(self, product_id: str, image_link: str) -> bool:
        changed = self.connection.execute(
            update(t.products)
            .where(t.products.c.product_id == product_id)
            .values(image_link=image_link)
        )
        return changed.rowcount == 1
