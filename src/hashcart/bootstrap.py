"""Wiring: settings → engine → shop, in one place for every entry point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from hashcart.clock import Clock, SystemClock
from hashcart.config import Settings
from hashcart.store.database import is_current, make_engine, read_only_transaction, upgrade
from hashcart.store.unit_of_work import SqlUnitOfWork

if TYPE_CHECKING:
    from hashcart.services.shop import Shop

# The shop and the console's settings are imported where they are read: they bring the
# engine's statements and every network's adapter, which reports such as `hashcart carts`
# do not use (docs/benchmarks.md, "Start-up").


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock

    def unit_of_work(self) -> SqlUnitOfWork:
        """A fresh unit of work on this database (ports.UnitsOfWork): the one way to write."""
        return SqlUnitOfWork(self.engine)

    def effective_settings(self) -> Settings:
        """The settings in force: the file's, with what the merchant changed in the console
        (trigger tags, link tags, shop hosts) on top. Read these, not `settings`, for those."""
        from hashcart.store import shop_config

        with read_only_transaction(self.engine) as connection:
            return shop_config.effective_settings(self.settings, connection)

    def shop(self) -> Shop:
        """The shop as the catalog and the console settings stand now (re-read, since
        imports and the console change them)."""
        from hashcart.services.shop import Shop
        from hashcart.store import shop_config
        from hashcart.store.repository import Repository

        with read_only_transaction(self.engine) as connection:
            settings = shop_config.effective_settings(self.settings, connection)
            return Shop.load(settings, Repository(connection))


def open_app(settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> App:
    """Connect to the database, bringing its schema up to date unless told not to."""
    engine = make_engine(settings.database_url)
    if migrate and not is_current(engine):
        upgrade(engine)
    return App(settings=settings, engine=engine, clock=clock or SystemClock())
