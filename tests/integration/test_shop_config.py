"""Console settings stored over the settings file: what is stored, what the engine runs with,
and what happens when the file and the console stop fitting together. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select

from hashcart.bootstrap import open_app
from hashcart.config import Settings
from hashcart.store import schema as t
from hashcart.store import shop_config


def stored_rows(settings: Settings) -> dict[str, list[str]]:
    app = open_app(settings)
    with app.engine.connect() as connection:
        rows = connection.execute(select(t.shop_config.c.key, t.shop_config.c.value)).all()
    app.engine.dispose()
    return {key: json.loads(value) for key, value in rows}


def test_saved_values_are_what_the_app_and_its_shop_run_with(database_url: str) -> None:
    app = open_app(Settings(database_url=database_url))
    with app.engine.begin() as connection:
        shop_config.save(
            connection,
            app.settings,
            {"cart_tags": ("grab",), "link_tags": ("joinshop",), "shop_hosts": ("shop.example",)},
        )
    effective = app.effective_settings()
    assert (effective.cart_tags, effective.link_tags, effective.shop_hosts) == (
        ("grab",),
        ("joinshop",),
        ("shop.example",),
    )
    assert effective.wishlist_tags == ("wishlist",)
    assert app.settings.cart_tags == ("cart",)  # the file's settings are left as they were
    shop = app.shop()
    assert shop.words.kind_of("GRAB") is not None
    assert shop.words.kind_of("cart") is None
    assert shop.hosts.names == frozenset({"shop.example"})
    app.engine.dispose()


def test_only_values_that_differ_from_the_settings_file_are_stored(database_url: str) -> None:
    settings = Settings(database_url=database_url, wishlist_tags=("save",))
    app = open_app(settings)
    with app.engine.begin() as connection:
        shop_config.save(connection, settings, {"cart_tags": ("grab",), "wishlist_tags": ("save",)})
        assert shop_config.stored(connection) == {"cart_tags": ("grab",)}
        assert shop_config.origin(settings, shop_config.stored(connection), "cart_tags") == (
            "console"
        )
        assert shop_config.origin(settings, {}, "wishlist_tags") == "settings file"
        assert shop_config.origin(settings, {}, "link_tags") == "default"
        shop_config.save(connection, settings, {"cart_tags": ("cart",)})
        assert shop_config.stored(connection) == {}
    app.engine.dispose()


def test_a_refused_change_stores_nothing(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    app = open_app(settings)
    with app.engine.begin() as connection:
        shop_config.save(connection, settings, {"cart_tags": ("grab",)})
        with pytest.raises(shop_config.ShopConfigError, match="configured for both"):
            shop_config.save(
                connection, settings, {"cart_tags": ("grab",), "wishlist_tags": ("GRAB",)}
            )
    app.engine.dispose()
    assert stored_rows(settings) == {"cart_tags": ["grab"]}


def test_reset_removes_the_console_values(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    app = open_app(settings)
    with app.engine.begin() as connection:
        shop_config.save(connection, settings, {"cart_tags": ("grab",), "link_tags": ("join",)})
        shop_config.reset(connection, ("cart_tags",))
        assert shop_config.stored(connection) == {"link_tags": ("join",)}
        shop_config.reset(connection)
        assert shop_config.stored(connection) == {}
    assert app.effective_settings() == settings
    app.engine.dispose()


def test_when_the_settings_file_no_longer_fits_the_file_wins(database_url: str) -> None:
    """The console made `buy` the cart tag; then the file made `buy` a wish-list tag. The
    engine must keep running: it uses the file alone, and the console page says why."""
    before = Settings(database_url=database_url)
    app = open_app(before)
    with app.engine.begin() as connection:
        shop_config.save(connection, before, {"cart_tags": ("buy",)})
    app.engine.dispose()
    after = Settings(database_url=database_url, wishlist_tags=("buy",))
    changed = open_app(after)
    assert changed.effective_settings() == after
    assert changed.shop().words.kind_of("buy") is not None  # as the file says: wish list
    assert changed.shop().words.kind_of("cart") is not None
    with changed.engine.connect() as connection, pytest.raises(shop_config.ShopConfigError):
        shop_config.apply(after, shop_config.stored(connection))
    changed.engine.dispose()


def test_a_stored_row_that_is_no_list_of_tags_is_ignored(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    app = open_app(settings)
    with app.engine.begin() as connection:
        connection.execute(
            insert(t.shop_config),
            [
                {"key": "cart_tags", "value": "not json"},
                {"key": "link_tags", "value": json.dumps("cartlink")},
                {"key": "shop_hosts", "value": json.dumps(["shop.example"])},
                {"key": "database_url", "value": json.dumps(["sqlite://"])},
            ],
        )
    assert app.effective_settings() == settings.model_copy(update={"shop_hosts": ("shop.example",)})
    app.engine.dispose()


def test_the_settings_in_force_are_made_again_only_when_the_console_changed_them(
    tmp_path: object,
) -> None:
    # Made once and kept while the console's rows stay the same (issue 14: they cost every
    # page); any change, a switch or a network's value too, makes them again.
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path}/shop.db"))
    first = app.effective_settings()
    assert app.effective_settings() is first
    with app.engine.begin() as connection:
        shop_config.save(connection, app.settings, {"cart_tags": ("grab",)})
    changed = app.effective_settings()
    assert changed is not first and changed.cart_tags == ("grab",)
    assert app.effective_settings() is changed
    with app.engine.begin() as connection:
        shop_config.save_switch(connection, app.settings, "buy_enabled", False)
    assert app.effective_settings().buy_enabled is False
    app.settings = Settings(database_url=app.settings.database_url, wishlist_tags=["keep"])
    assert app.effective_settings().wishlist_tags == ("keep",)
    app.engine.dispose()
