"""Mastodon payloads: REST `Status` entities and streaming-API messages, as one receiving
server (the brand's home, `mastodon.example`) shows them. Shapes follow the recorded
cassettes in `shared/fixtures/mastodon/`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from hashcart.synthetic import _wire
from hashcart.synthetic._people import HOME_INSTANCE, MastodonAccount, Persona
from hashcart.synthetic._richtext import RichText, html_escape

_BLURHASH = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


@dataclass(frozen=True, slots=True)
class StatusRef:
    """The status a reply answers: its id on the receiving server, and its author."""

    local_id: int
    author: Persona


def _acct(persona: Persona) -> MastodonAccount:
    if persona.mastodon is None:
        raise ValueError(f"{persona.name} has no Mastodon account")
    return persona.mastodon


def _media_path(local_id: int) -> str:
    digits = str(local_id).rjust(18, "0")
    return "/".join(digits[i : i + 3] for i in range(0, 18, 3))


def link_html(url: str) -> str:
    """A link as Mastodon formats it: scheme hidden, long URLs cut at 30 characters."""
    scheme, _, rest = url.partition("://")
    scheme += "://"
    if len(rest) > 30:
        shown = (
            f'<span class="ellipsis">{html_escape(rest[:30])}</span>'
            f'<span class="invisible">{html_escape(rest[30:])}</span>'
        )
    else:
        shown = f'<span class="">{html_escape(rest)}</span><span class="invisible"></span>'
    return (
        f'<a href="{html_escape(url)}" target="_blank" rel="nofollow noopener" '
        f'translate="no"><span class="invisible">{scheme}</span>{shown}</a>'
    )


def mention_html(account: MastodonAccount) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{account.url}" '
        f'class="u-url mention">@<span>{account.username}</span></a></span>'
    )


@lru_cache(maxsize=4096)
def account_object(persona: Persona) -> dict[str, Any]:
    account = _acct(persona)
    rng = random.Random(account.local_id)
    local = account.domain == HOME_INSTANCE
    store = "system" if local else "system/cache"
    avatar = (
        f"https://{HOME_INSTANCE}/{store}/accounts/avatars/{_media_path(account.local_id)}"
        f"/original/{_wire.hexstr(rng, 16)}.jpg"
    )
    header = (
        f"https://{HOME_INSTANCE}/{store}/accounts/headers/{_media_path(account.local_id)}"
        f"/original/{_wire.hexstr(rng, 16)}.jpg"
    )
    fields: list[dict[str, str | None]] = []
    if persona.website:
        fields.append(
            {
                "name": "Website",
                "value": link_html(persona.website).replace(
                    'rel="nofollow noopener"', 'rel="nofollow noopener me"'
                ),
                "verified_at": _wire.iso_ms(persona.joined),
            }
        )
    if persona.location:
        fields.append(
            {"name": "Based in", "value": html_escape(persona.location), "verified_at": None}
        )
    if rng.random() < 0.5:
        fields.append(
            {
                "name": "Pronouns",
                "value": rng.choice(("she/her", "he/him", "they/them")),
                "verified_at": None,
            }
        )
    else:
        fields.append(
            {
                "name": "Coffee",
                "value": rng.choice(
                    ("oat flat white", "black, no sugar", "cortado", "whatever's in the pot")
                ),
                "verified_at": None,
            }
        )
    return {
        "id": str(account.local_id),
        "username": account.username,
        "acct": account.acct,
        "display_name": persona.name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": rng.random() < 0.6,
        "group": False,
        "created_at": _wire.iso_date(persona.joined) + "T00:00:00.000Z",
        "note": f"<p>{html_escape(persona.bio)}</p>",
        "url": account.url,
        "uri": account.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": "",
        "header": header,
        "header_static": header,
        "header_description": "",
        "followers_count": persona.followers,
        "following_count": persona.following,
        "statuses_count": persona.posts,
        "last_status_at": None,
        "hide_collections": None,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": fields,
    }


def render_content(segs: RichText, author: MastodonAccount, prefix: tuple[Persona, ...]) -> str:
    parts = []
    for who in prefix:
        parts.append(mention_html(_acct(who)) + " ")
    for seg in segs:
        if seg.kind == "text":
            parts.append(html_escape(seg.value).replace("\n", "<br />"))
        elif seg.kind == "tag" and seg.hash == "#":
            parts.append(
                f'<a href="https://{author.domain}/tags/{seg.value}" '
                f'class="mention hashtag" rel="tag">#<span>{seg.value}</span></a>'
            )
        elif seg.kind == "tag":
            parts.append(html_escape(seg.hash + seg.value))
        elif seg.kind == "link":
            parts.append(link_html(seg.value))
        else:
            assert seg.who is not None
            parts.append(mention_html(_acct(seg.who)))
    return "<p>" + "".join(parts) + "</p>"


def card(
    *, url: str, title: str, description: str, provider: str, rng: random.Random
) -> dict[str, Any]:
    image = (
        f"https://{HOME_INSTANCE}/system/cache/preview_cards/images/"
        f"{_media_path(rng.randrange(10**6, 10**8))}/original/{_wire.hexstr(rng, 16)}.jpg"
    )
    return {
        "url": url,
        "title": title,
        "description": description,
        "language": "en",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": provider,
        "provider_url": "",
        "html": "",
        "width": 1200,
        "height": 630,
        "image": image,
        "image_description": "",
        "embed_url": "",
        "blurhash": "U" + "".join(rng.choice(_BLURHASH) for _ in range(27)),
        "published_at": None,
        "authors": [],
    }


def _attachment(rng: random.Random, local_id: int, description: str) -> dict[str, Any]:
    media_id = local_id - rng.randrange(1 << 16, 1 << 24)
    path = _media_path(media_id)
    name = _wire.hexstr(rng, 16)
    w, h = rng.choice(((1600, 1200), (1080, 1350), (2048, 1536)))
    return {
        "id": str(media_id),
        "type": "image",
        "url": f"https://{HOME_INSTANCE}/system/media_attachments/files/{path}/original/{name}.jpg",
        "preview_url": f"https://{HOME_INSTANCE}/system/media_attachments/files/{path}/small/"
        f"{name}.jpg",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {
            "original": {"width": w, "height": h, "size": f"{w}x{h}", "aspect": round(w / h, 4)},
            "small": {
                "width": 640,
                "height": round(640 * h / w),
                "size": f"640x{round(640 * h / w)}",
                "aspect": round(w / h, 4),
            },
            "focus": {"x": 0.0, "y": 0.0},
        },
        "description": description,
        "blurhash": "U" + "".join(rng.choice(_BLURHASH) for _ in range(27)),
    }


def status(
    *,
    author: Persona,
    local_id: int,
    created: datetime,
    segs: RichText,
    rng: random.Random,
    reply_to: StatusRef | None = None,
    card_obj: dict[str, Any] | None = None,
    image: str | None = None,
    language: str = "en",
    reblog: dict[str, Any] | None = None,
    quote: dict[str, Any] | None = None,
    counts: tuple[int, int, int] = (0, 0, 0),
    streaming: bool = False,
    viewer_is_author: bool = False,
) -> dict[str, Any]:
    """A Status as the receiving server's API shows it. `local_id` is that server's id;
    the origin's own id is only in `uri`/`url`. A reply starts with an @mention of the
    parent's author, as Mastodon's compose box writes it."""
    account = _acct(author)
    origin_id = (
        local_id
        if account.domain == HOME_INSTANCE
        else _wire.mastodon_id(_wire.to_ms(created), rng.randrange(65536))
    )
    mentions = []
    prefix: tuple[Persona, ...] = ()
    if reply_to is not None and reply_to.author is not author:
        prefix = (reply_to.author,)
    for who in (*prefix, *(s.who for s in segs if s.kind == "mention" and s.who)):
        acct = _acct(who)
        mention = {
            "id": str(acct.local_id),
            "username": acct.username,
            "url": acct.url,
            "acct": acct.acct,
        }
        if mention not in mentions:
            mentions.append(mention)
    tags: list[dict[str, str]] = []
    for seg in segs:
        if seg.kind == "tag" and seg.hash == "#":
            tag = {
                "name": seg.value.lower(),
                "url": f"https://{HOME_INSTANCE}/tags/{seg.value.lower()}",
            }
            if tag not in tags:
                tags.append(tag)
    if reblog is not None:
        uri = f"{account.uri}/statuses/{origin_id}/activity"
        url = uri
        content = ""
    else:
        uri = f"{account.uri}/statuses/{origin_id}"
        url = f"{account.url}/{origin_id}"
        content = render_content(segs, account, prefix)
    replies, reblogs, favourites = counts
    obj: dict[str, Any] = {
        "id": str(local_id),
        "created_at": _wire.iso_ms(created),
        "in_reply_to_id": str(reply_to.local_id) if reply_to else None,
        "in_reply_to_account_id": str(_acct(reply_to.author).local_id) if reply_to else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": language if reblog is None else None,
        "uri": uri,
        "url": url,
        "replies_count": replies,
        "reblogs_count": reblogs,
        "favourites_count": favourites,
        "quotes_count": 0,
        "edited_at": None,
    }
    viewer = {"favourited": False, "reblogged": False, "muted": False, "bookmarked": False}
    if viewer_is_author:
        viewer["pinned"] = False
    if not streaming:
        obj.update(viewer)
    obj["content"] = content
    if not streaming:
        obj["filtered"] = []
    obj["reblog"] = reblog
    if viewer_is_author:
        obj["application"] = {"name": "Web", "website": None}
    obj["account"] = account_object(author) | {"last_status_at": _wire.iso_date(created)}
    obj["media_attachments"] = (
        [_attachment(rng, local_id, image)] if image is not None and reblog is None else []
    )
    obj["mentions"] = mentions if reblog is None else []
    obj["tags"] = tags if reblog is None else []
    obj["emojis"] = []
    obj["quote"] = {"state": "accepted", "quoted_status": quote} if quote is not None else None
    obj["card"] = card_obj if reblog is None else None
    obj["poll"] = None
    if streaming:
        obj.update(viewer)
        obj["filtered"] = []
    return obj


def status_line(obj: dict[str, Any]) -> bytes:
    """A plain Status, one JSON object a line (REST polling, SSE `data:`, webhooks)."""
    return _wire.mastodon_dumps(obj).encode("utf-8")


def stream_line(obj: dict[str, Any], event: str = "update", stream: str = "user") -> bytes:
    """A WebSocket streaming message: the status is a JSON *string* in `payload`."""
    payload = _wire.mastodon_dumps(obj)
    message = {"stream": [stream], "event": event, "payload": payload}
    return _wire.mastodon_dumps(message).encode("utf-8")
