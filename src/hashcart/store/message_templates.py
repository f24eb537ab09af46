"""The merchant's words (issue 14): the message and email templates rewritten in the
console, one row per template key; the defaults stay in code (domain/message_templates,
domain/email_templates)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from hashcart.store import schema as t

_table = t.message_templates


def stored_templates(connection: Connection) -> dict[str, str]:
    """The rewritten templates by key, messages' and emails' (a key the code no longer has
    is left out)."""
    from hashcart.domain.email_templates import EMAIL_TEMPLATES
    from hashcart.domain.message_templates import TEMPLATES

    rows = connection.execute(select(_table.c.key, _table.c.template))
    return {key: text for key, text in rows if key in TEMPLATES or key in EMAIL_TEMPLATES}


def edited_at(connection: Connection) -> dict[str, datetime]:
    """When each rewritten template was last saved."""
    rows = connection.execute(select(_table.c.key, _table.c.updated_at))
    return {key: moment for key, moment in rows}


def save_template(connection: Connection, key: str, text: str, now: datetime) -> None:
    """Keep `text` (already checked) as `key`'s template from now on."""
    changed = connection.execute(
        update(_table).where(_table.c.key == key).values(template=text, updated_at=now)
    )
    if changed.rowcount == 0:
        connection.execute(insert(_table).values(key=key, template=text, updated_at=now))


def reset_template(connection: Connection, key: str) -> bool:
    """Back to the default in code; False when it was the default already."""
    return connection.execute(delete(_table).where(_table.c.key == key)).rowcount > 0
