"""One Settings: a TOML file (`--config`, HASHCART_CONFIG), overridden by HASHCART_* variables."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hashcart.domain.link_codes import LinkWords
from hashcart.domain.products import ShopHosts
from hashcart.domain.shop_accounts import ShopAccount, parse_shop_accounts
from hashcart.domain.triggers import TriggerWords

DEFAULT_DATABASE_URL = "sqlite:///hashcart.db"

# A list of words; from the environment either `a,b` or a JSON list.
TagList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Everything hashcart can be told. Environment beats the TOML file beats these defaults."""

    model_config = SettingsConfigDict(env_prefix="HASHCART_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    # Tags that put the parent's product in the cart / on the wish list (without '#').
    cart_tags: TagList = ("cart",)
    wishlist_tags: TagList = ("wishlist",)
    # Host names the shop's product links live on; empty means the hosts of the catalog's links.
    shop_hosts: TagList = ()
    # The shop's own social accounts, `network:account` (a handle without '@', or the account
    # id): only their posts are shoppable posts on the shop front and in the funnel. Empty:
    # every post with a shop product link. The engine acts on replies to any post either way.
    shop_accounts: TagList = ()
    max_quantity: int = Field(default=10, ge=1, le=1000)
    # How long a trigger from an unlinked account waits for its link, from the trigger's own time.
    pending_expiry_days: float = Field(default=7.0, gt=0)
    # Posts committed per transaction on the ingest path (batching is what makes SQLite fast).
    ingest_batch_size: int = Field(default=1000, ge=1)
    # Check every line is well-formed JSON, not only those decoded (about 2 µs more a line).
    validate_every_line: bool = False
    shop_name: str = "hashcart demo shop"
    # Where shoppers reach the shop's web pages (link instructions in replies point here).
    public_url: str = "http://127.0.0.1:8000"
    # The shop front lives at /s/<shop_slug>.
    shop_slug: str = Field(default="demo", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    # Tags a shopper posts with their one-time code to link that account (`#cartlink K7Q2M9XD`).
    link_tags: TagList = ("cartlink",)
    # How long a one-time link code stays good, and how long a web session lasts.
    link_code_minutes: float = Field(default=30.0, gt=0)
    session_days: float = Field(default=14.0, gt=0)
    # Failed sign-ins allowed per account and per address in sign_in_window_minutes.
    sign_in_account_limit: int = Field(default=5, ge=1)
    sign_in_address_limit: int = Field(default=20, ge=1)
    sign_in_window_minutes: float = Field(default=15.0, gt=0)
    # Mail: always written to the outbox; also sent over SMTP when smtp_host is set.
    mail_from: str = "hashcart <shop@localhost>"
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    @field_validator(
        "cart_tags", "wishlist_tags", "shop_hosts", "shop_accounts", "link_tags", mode="before"
    )
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        """Let environment variables say `a,b` as well as a JSON list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _tags_and_hosts_are_usable(self) -> Settings:
        """Refuse at start-up what the engine would refuse later: `#cart` written with its
        hash, a tag in both lists, a link tag that is also a trigger tag, a host name that is
        no host name, a shop account that is not `network:account`."""
        words = TriggerWords(cart=self.cart_tags, wishlist=self.wishlist_tags)
        LinkWords.of(self.link_tags, words)
        ShopHosts(self.shop_hosts)
        parse_shop_accounts(self.shop_accounts)
        return self

    def parsed_shop_accounts(self) -> tuple[ShopAccount, ...]:
        """`shop_accounts` as accounts (checked at start, so this does not fail)."""
        return parse_shop_accounts(self.shop_accounts)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file named in model_config (see load_settings) ranks below the environment.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


class ConfigFileError(ValueError):
    """The settings file is missing or unreadable; the message says which and why."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config_file` (or HASHCART_CONFIG), the environment, then `overrides`."""
    named = config_file or os.environ.get("HASHCART_CONFIG")
    path = Path(named) if named else None
    if path is not None and not path.is_file():
        raise ConfigFileError(f"settings file not found: {path}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return FileSettings(**clean)
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(f"settings file {path} is not valid TOML: {error}") from error
