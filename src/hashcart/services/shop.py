"""What the engine knows about the shop while it works: catalog, hosts, trigger words, wording."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta

from hashcart.config import Settings
from hashcart.domain.link_codes import LinkWords
from hashcart.domain.messages import MessageContext
from hashcart.domain.products import Catalog, CatalogItem, ShopHosts
from hashcart.domain.triggers import TriggerWords, strip_trigger_tags
from hashcart.domain.urls import extract_urls
from hashcart.store.repository import ProductInfo, Repository

UNAVAILABLE = frozenset({"out_of_stock", "discontinued"})


@dataclass(frozen=True)
class Shop:
    """The shop's rules, loaded once per run from the settings and the catalog."""

    name: str
    account_url: str
    words: TriggerWords
    max_quantity: int
    pending_expiry: timedelta
    hosts: ShopHosts
    catalog: Catalog
    # Tags that link an account by one-time code (`#cartlink K7Q2M9XD`); never trigger tags.
    link_words: LinkWords = field(
        default_factory=lambda: LinkWords.of(("cartlink",), TriggerWords())
    )
    products: dict[str, ProductInfo] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: Settings, repo: Repository) -> Shop:
        rows = list(repo.products())
        products = {
            pid: ProductInfo(pid, title, availability) for pid, title, _, availability in rows
        }
        items = [CatalogItem(product_id=pid, link=link) for pid, _, link, _ in rows]
        configured = settings.shop_hosts or tuple(ShopHosts.hosts_of(item.link for item in items))
        hosts = ShopHosts(configured)
        words = TriggerWords(cart=settings.cart_tags, wishlist=settings.wishlist_tags)
        return cls(
            name=settings.shop_name,
            account_url=settings.public_url.rstrip("/") + "/account",
            words=words,
            link_words=LinkWords.of(settings.link_tags, words),
            max_quantity=settings.max_quantity,
            pending_expiry=timedelta(days=settings.pending_expiry_days),
            hosts=hosts,
            catalog=Catalog(items, hosts),
            products=products,
        )

    def sanitize(self, text: str) -> str:
        """`text` without the signs of trigger or link tags: what we post can never act."""
        return strip_trigger_tags(text, self._tags_to_strip)

    @property
    def _tags_to_strip(self) -> TriggerWords:
        return _strip_words(self.words, self.link_words.tags)

    def message_context(self, handle: str, trigger_post_id: str) -> MessageContext:
        return MessageContext(
            handle=handle,
            trigger_post_id=trigger_post_id,
            shop_name=self.name,
            account_url=self.account_url,
            sanitize=self.sanitize,
        )

    def shop_links(self, urls: tuple[str, ...], text: str) -> tuple[list[str], list[str]]:
        """(links on a shop host, the distinct products they name in order) for a post."""
        candidates = [*urls, *extract_urls(text)]
        on_shop = [url for url in candidates if self.hosts.matches_url(url)]
        return on_shop, self.catalog.resolve_all(on_shop)

    def is_available(self, product_id: str) -> bool:
        info = self.products.get(product_id)
        return info is not None and info.availability not in UNAVAILABLE

    def title(self, product_id: str) -> str:
        info = self.products.get(product_id)
        return info.title if info else product_id


@functools.lru_cache(maxsize=16)
def _strip_words(words: TriggerWords, link_tags: tuple[str, ...]) -> TriggerWords:
    """Trigger and link tags as one TriggerWords, only for stripping (they never collide)."""
    return TriggerWords(cart=(*words.cart, *link_tags), wishlist=words.wishlist)
