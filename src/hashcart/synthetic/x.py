"""X payloads: v1.1 tweet objects (as the v1.1 streams and the Account Activity API send
them) and API v2 filtered-stream lines. Shapes follow the recorded tweets in
`shared/fixtures/x-v1.1/original_format_examples.json`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from hashcart.synthetic import _wire
from hashcart.synthetic._people import Persona, XAccount
from hashcart.synthetic._richtext import RichText, x_escape

SOURCES = (
    '<a href="http://twitter.com/download/iphone" rel="nofollow">Twitter for iPhone</a>',
    '<a href="http://twitter.com/download/android" rel="nofollow">Twitter for Android</a>',
    '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
    '<a href="https://about.twitter.com/products/tweetdeck" rel="nofollow">TweetDeck</a>',
)
BRAND_SOURCE = '<a href="https://buffer.com" rel="nofollow">Buffer</a>'

_URL_WEIGHT = 23  # every URL counts as 23 characters
_SHORT_LIMIT = 140  # v1.1 `text` keeps 140; longer posts get `extended_tweet`


@dataclass(frozen=True, slots=True)
class TweetRef:
    """The tweet a reply answers: its id and author."""

    tweet_id: int
    author: Persona


def _acct(persona: Persona) -> XAccount:
    if persona.x is None:
        raise ValueError(f"{persona.name} has no X account")
    return persona.x


def display_url(url: str) -> str:
    shown = url.split("://", 1)[-1]
    shown = shown.removeprefix("www.")
    return shown if len(shown) <= 26 else shown[:26] + "\u2026"


@lru_cache(maxsize=4096)
def user_object(persona: Persona) -> dict[str, Any]:
    """The full v1.1 `user` object; the same persona always gets the same bytes."""
    account = _acct(persona)
    rng = random.Random(account.id)
    image = f"{rng.randrange(10**18, 10**19)}/{_wire.token(rng, 8)}_normal.jpg"
    custom = rng.random() < 0.7
    website = None
    entities: dict[str, Any] = {"description": {"urls": []}}
    if persona.website:
        website = _wire.tco(rng)
        entities["url"] = {
            "urls": [
                {
                    "url": website,
                    "expanded_url": persona.website,
                    "display_url": display_url(persona.website),
                    "indices": [0, 23],
                }
            ]
        }
    return {
        "id": account.id,
        "id_str": account.id_str,
        "name": persona.name,
        "screen_name": account.screen_name,
        "location": persona.location or None,
        "url": website,
        "description": persona.bio,
        "translator_type": "none",
        "protected": False,
        "verified": False,
        "followers_count": persona.followers,
        "friends_count": persona.following,
        "listed_count": persona.followers // 40,
        "favourites_count": persona.likes,
        "statuses_count": persona.posts,
        "created_at": _wire.x_time(persona.joined),
        "utc_offset": None,
        "time_zone": None,
        "geo_enabled": rng.random() < 0.3,
        "lang": None,
        "contributors_enabled": False,
        "is_translator": False,
        "profile_background_color": "F5F8FA" if not custom else "000000",
        "profile_background_image_url": ""
        if not custom
        else "http://abs.twimg.com/images/themes/theme1/bg.png",
        "profile_background_image_url_https": ""
        if not custom
        else "https://abs.twimg.com/images/themes/theme1/bg.png",
        "profile_background_tile": False,
        "profile_link_color": rng.choice(("1DA1F2", "F58EA8", "19CF86", "E81C4F", "3B94D9")),
        "profile_sidebar_border_color": "C0DEED" if not custom else "000000",
        "profile_sidebar_fill_color": "DDEEF6" if not custom else "000000",
        "profile_text_color": "333333" if not custom else "000000",
        "profile_use_background_image": not custom,
        "profile_image_url": f"http://pbs.twimg.com/profile_images/{image}",
        "profile_image_url_https": f"https://pbs.twimg.com/profile_images/{image}",
        "profile_banner_url": f"https://pbs.twimg.com/profile_banners/{account.id}/"
        f"{rng.randrange(1_500_000_000, 1_700_000_000)}",
        "default_profile": not custom,
        "default_profile_image": False,
        "following": None,
        "follow_request_sent": None,
        "notifications": None,
        "withheld_in_countries": [],
        "entities": entities,
    }


def _render(
    segs: RichText, rng: random.Random, prefix_mentions: tuple[Persona, ...] = ()
) -> tuple[str, dict[str, list[dict[str, Any]]], int]:
    """Tweet text, entities (indices in code points of the stored text) and where the
    display text starts (after the automatic leading @mentions of a reply)."""
    parts: list[str] = []
    hashtags: list[dict[str, Any]] = []
    urls: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    pos = 0

    def emit(text: str) -> tuple[int, int]:
        nonlocal pos
        start = pos
        parts.append(text)
        pos += len(text)
        return start, pos

    def mention(who: Persona) -> None:
        account = _acct(who)
        start, end = emit("@" + account.screen_name)
        mentions.append(
            {
                "screen_name": account.screen_name,
                "name": who.name,
                "id": account.id,
                "id_str": account.id_str,
                "indices": [start, end],
            }
        )

    for who in prefix_mentions:
        mention(who)
        emit(" ")
    display_start = pos
    for seg in segs:
        if seg.kind == "text":
            emit(x_escape(seg.value))
        elif seg.kind == "tag":
            start, end = emit(seg.hash + seg.value)
            hashtags.append({"text": seg.value, "indices": [start, end]})
        elif seg.kind == "link":
            short = _wire.tco(rng)
            start, end = emit(short)
            urls.append(
                {
                    "url": short,
                    "expanded_url": seg.value,
                    "display_url": display_url(seg.value),
                    "indices": [start, end],
                }
            )
        else:
            assert seg.who is not None
            mention(seg.who)
    entities = {"hashtags": hashtags, "urls": urls, "user_mentions": mentions, "symbols": []}
    return "".join(parts), entities, display_start


def _photo(rng: random.Random, tweet_id: int, screen_name: str, start: int) -> dict[str, Any]:
    media_id = tweet_id - rng.randrange(1 << 22, 1 << 30)
    key = _wire.token(rng, 15)
    short = _wire.tco(rng)
    return {
        "id": media_id,
        "id_str": str(media_id),
        "indices": [start, start + 23],
        "media_url": f"http://pbs.twimg.com/media/{key}.jpg",
        "media_url_https": f"https://pbs.twimg.com/media/{key}.jpg",
        "url": short,
        "display_url": f"pic.twitter.com/{short[-10:]}",
        "expanded_url": f"https://twitter.com/{screen_name}/status/{tweet_id}/photo/1",
        "type": "photo",
        "sizes": {
            "thumb": {"w": 150, "h": 150, "resize": "crop"},
            "medium": {"w": 1200, "h": 900, "resize": "fit"},
            "small": {"w": 680, "h": 510, "resize": "fit"},
            "large": {"w": 2048, "h": 1536, "resize": "fit"},
        },
    }


_PLACES = (
    (
        "e4a0d228eb6be76b",
        "Portland, OR",
        "Portland",
        -122.836749,
        45.432536,
        -122.472025,
        45.652881,
    ),
    ("ac88a4f17a51c7fc", "Seattle, WA", "Seattle", -122.436232, 47.495315, -122.224422, 47.734319),
    ("fd70c22040963ac7", "Boulder, CO", "Boulder", -105.301776, 39.953552, -105.183597, 40.094411),
    ("b7ad5b2eeb5c1ca6", "Bend, OR", "Bend", -121.383478, 43.995447, -121.235012, 44.110945),
)


def _place(rng: random.Random) -> dict[str, Any]:
    pid, full, name, w, s, e, n = rng.choice(_PLACES)
    return {
        "id": pid,
        "url": f"https://api.twitter.com/1.1/geo/id/{pid}.json",
        "place_type": "city",
        "name": name,
        "full_name": full,
        "country_code": "US",
        "country": "United States",
        "bounding_box": {"type": "Polygon", "coordinates": [[[w, s], [w, n], [e, n], [e, s]]]},
        "attributes": {},
    }


def tweet(
    *,
    author: Persona,
    tweet_id: int,
    created: datetime,
    segs: RichText,
    rng: random.Random,
    reply_to: TweetRef | None = None,
    quote: dict[str, Any] | None = None,
    photo: bool = False,
    place: bool = False,
    lang: str = "en",
    source: str | None = None,
    counts: tuple[int, int, int, int] = (0, 0, 0, 0),
    top_level: bool = True,
) -> dict[str, Any]:
    """A v1.1 tweet. Replies start with the parent author's @mention, as X writes them;
    posts over 140 characters are `truncated` with the whole text in `extended_tweet`."""
    account = _acct(author)
    prefix = (reply_to.author,) if reply_to is not None else ()
    full_text, entities, display_start = _render(segs, rng, prefix)
    quote_permalink: dict[str, Any] | None = None
    if quote is not None:
        # The quoted post's permalink ends the text, as a t.co link.
        qurl = f"https://twitter.com/{quote['user']['screen_name']}/status/{quote['id_str']}"
        short = _wire.tco(rng)
        start = len(full_text) + 1
        full_text = f"{full_text} {short}"
        entities["urls"].append(
            {
                "url": short,
                "expanded_url": qurl,
                "display_url": display_url(qurl),
                "indices": [start, start + 23],
            }
        )
        quote_permalink = {"url": short, "expanded": qurl, "display": display_url(qurl)}
    extended_entities = None
    if photo:
        media = _photo(rng, tweet_id, account.screen_name, len(full_text) + 1)
        full_text = f"{full_text} {media['url']}"
        entities["media"] = [media]
        extended_entities = {"media": [media]}
    display_end = len(full_text) - (24 if photo else 0)

    truncated = len(full_text) > _SHORT_LIMIT
    extended: dict[str, Any] | None = None
    text, top_entities = full_text, entities
    if truncated:
        cut = _SHORT_LIMIT - 2 - _URL_WEIGHT
        for group in ("hashtags", "urls", "user_mentions"):
            for ent in entities[group]:
                if ent["indices"][0] < cut < ent["indices"][1]:
                    cut = ent["indices"][0]
        web = _wire.tco(rng)
        head = full_text[:cut].rstrip()
        text = f"{head}\u2026 {web}"
        web_url = f"https://twitter.com/i/web/status/{tweet_id}"
        top_entities = {
            group: [ent for ent in entities[group] if ent["indices"][1] <= len(head)]
            for group in ("hashtags", "urls", "user_mentions", "symbols")
        }
        top_entities["urls"].append(
            {
                "url": web,
                "expanded_url": web_url,
                "display_url": display_url(web_url),
                "indices": [len(head) + 2, len(head) + 2 + 23],
            }
        )
        extended = {
            "full_text": full_text,
            "display_text_range": [display_start, display_end],
            "entities": entities,
        }
        if extended_entities is not None:
            extended["extended_entities"] = extended_entities

    obj: dict[str, Any] = {
        "created_at": _wire.x_time(created),
        "id": tweet_id,
        "id_str": str(tweet_id),
        "text": text,
    }
    if reply_to is not None or truncated:
        obj["display_text_range"] = [display_start, min(display_end, len(text))]
    obj["source"] = source if source is not None else SOURCES[tweet_id % len(SOURCES)]
    obj["truncated"] = truncated
    if reply_to is not None:
        parent = _acct(reply_to.author)
        obj["in_reply_to_status_id"] = reply_to.tweet_id
        obj["in_reply_to_status_id_str"] = str(reply_to.tweet_id)
        obj["in_reply_to_user_id"] = parent.id
        obj["in_reply_to_user_id_str"] = parent.id_str
        obj["in_reply_to_screen_name"] = parent.screen_name
    else:
        for key in (
            "in_reply_to_status_id",
            "in_reply_to_status_id_str",
            "in_reply_to_user_id",
            "in_reply_to_user_id_str",
            "in_reply_to_screen_name",
        ):
            obj[key] = None
    obj["user"] = user_object(author)
    obj["geo"] = None
    obj["coordinates"] = None
    obj["place"] = _place(rng) if place else None
    obj["contributors"] = None
    if quote is not None:
        obj["quoted_status_id"] = quote["id"]
        obj["quoted_status_id_str"] = quote["id_str"]
        obj["quoted_status"] = quote
        obj["quoted_status_permalink"] = quote_permalink
    obj["is_quote_status"] = quote is not None
    if extended is not None:
        obj["extended_tweet"] = extended
    quotes, replies, retweets, likes = counts
    obj["quote_count"] = quotes
    obj["reply_count"] = replies
    obj["retweet_count"] = retweets
    obj["favorite_count"] = likes
    obj["entities"] = top_entities
    if extended_entities is not None and not truncated:
        obj["extended_entities"] = extended_entities
    obj["favorited"] = False
    obj["retweeted"] = False
    if top_entities["urls"] or photo:
        obj["possibly_sensitive"] = False
    obj["filter_level"] = "low"
    obj["lang"] = lang
    if top_level:
        obj["timestamp_ms"] = str(_wire.to_ms(created))
    return obj


def retweet(
    *, author: Persona, tweet_id: int, created: datetime, original: dict[str, Any]
) -> dict[str, Any]:
    """A retweet: `retweeted_status` carries the original; the top level is no reply,
    though its text and entities repeat the original's (hashtags included)."""
    _acct(author)
    orig = dict(original)
    orig.pop("timestamp_ms", None)
    orig.pop("filter_level", None)
    source_name = orig["user"]["screen_name"]
    head = f"RT @{source_name}: "
    shift = len(head)
    body = orig.get("extended_tweet", {}).get("full_text", orig["text"])
    orig_entities = orig.get("extended_tweet", {}).get("entities", orig["entities"])
    text = head + body
    limit = len(text)
    if len(text) > _SHORT_LIMIT:
        limit = _SHORT_LIMIT - 1
        text = text[:limit] + "\u2026"
    entities: dict[str, list[dict[str, Any]]] = {
        "hashtags": [],
        "urls": [],
        "user_mentions": [],
        "symbols": [],
    }
    ouser = orig["user"]
    entities["user_mentions"].append(
        {
            "screen_name": source_name,
            "name": ouser["name"],
            "id": ouser["id"],
            "id_str": ouser["id_str"],
            "indices": [3, 4 + len(source_name)],
        }
    )
    for group in ("hashtags", "urls", "user_mentions", "symbols"):
        for ent in orig_entities.get(group, []):
            start, end = ent["indices"]
            if end + shift <= limit:
                moved = dict(ent)
                moved["indices"] = [start + shift, end + shift]
                entities[group].append(moved)
    return {
        "created_at": _wire.x_time(created),
        "id": tweet_id,
        "id_str": str(tweet_id),
        "text": text,
        "source": SOURCES[tweet_id % len(SOURCES)],
        "truncated": False,
        "in_reply_to_status_id": None,
        "in_reply_to_status_id_str": None,
        "in_reply_to_user_id": None,
        "in_reply_to_user_id_str": None,
        "in_reply_to_screen_name": None,
        "user": user_object(author),
        "geo": None,
        "coordinates": None,
        "place": None,
        "contributors": None,
        "retweeted_status": orig,
        "is_quote_status": bool(orig.get("is_quote_status")),
        "quote_count": 0,
        "reply_count": 0,
        "retweet_count": 0,
        "favorite_count": 0,
        "entities": entities,
        "favorited": False,
        "retweeted": False,
        "filter_level": "low",
        "lang": orig.get("lang", "en"),
        "timestamp_ms": str(_wire.to_ms(created)),
    }


def v1_line(obj: dict[str, Any]) -> bytes:
    return _wire.x_v1_dumps(obj).encode("ascii")


# --- API v2 ------------------------------------------------------------------------------


def user_v2(persona: Persona) -> dict[str, Any]:
    account = _acct(persona)
    v1 = user_object(persona)
    return {
        "created_at": _wire.iso_ms(persona.joined),
        "description": persona.bio,
        "id": account.id_str,
        "location": persona.location,
        "name": persona.name,
        "profile_image_url": v1["profile_image_url_https"],
        "protected": False,
        "public_metrics": {
            "followers_count": persona.followers,
            "following_count": persona.following,
            "tweet_count": persona.posts,
            "listed_count": persona.followers // 40,
            "like_count": persona.likes,
        },
        "url": v1["url"] or "",
        "username": account.screen_name,
        "verified": False,
    }


def tweet_v2(
    *,
    author: Persona,
    tweet_id: int,
    created: datetime,
    segs: RichText,
    rng: random.Random,
    reply_to: TweetRef | None = None,
    conversation_id: int | None = None,
    quote_of: int | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """A v2 tweet object with the fields a filtered stream asks for."""
    account = _acct(author)
    prefix = (reply_to.author,) if reply_to is not None else ()
    text, v1_entities, _ = _render(segs, rng, prefix)
    entities: dict[str, Any] = {}
    if v1_entities["hashtags"]:
        entities["hashtags"] = [
            {"start": e["indices"][0], "end": e["indices"][1], "tag": e["text"]}
            for e in v1_entities["hashtags"]
        ]
    if v1_entities["user_mentions"]:
        entities["mentions"] = [
            {
                "start": e["indices"][0],
                "end": e["indices"][1],
                "username": e["screen_name"],
                "id": e["id_str"],
            }
            for e in v1_entities["user_mentions"]
        ]
    if v1_entities["urls"]:
        entities["urls"] = [
            {
                "start": e["indices"][0],
                "end": e["indices"][1],
                "url": e["url"],
                "expanded_url": e["expanded_url"],
                "display_url": e["display_url"],
                "unwound_url": e["expanded_url"],
                "status": 200,
            }
            for e in v1_entities["urls"]
        ]
    obj: dict[str, Any] = {
        "author_id": account.id_str,
        "conversation_id": str(conversation_id or tweet_id),
        "created_at": _wire.iso_ms(created),
        "edit_history_tweet_ids": [str(tweet_id)],
        "edit_controls": {
            "edits_remaining": 5,
            "is_edit_eligible": not reply_to,
            "editable_until": _wire.iso_from_ms(_wire.to_ms(created) + 3_600_000),
        },
    }
    if entities:
        obj["entities"] = entities
    obj["id"] = str(tweet_id)
    if reply_to is not None:
        obj["in_reply_to_user_id"] = _acct(reply_to.author).id_str
    obj["lang"] = lang
    obj["possibly_sensitive"] = False
    obj["public_metrics"] = {
        "retweet_count": 0,
        "reply_count": 0,
        "like_count": 0,
        "quote_count": 0,
        "bookmark_count": 0,
        "impression_count": rng.randrange(3, 400),
    }
    refs = []
    if reply_to is not None:
        refs.append({"type": "replied_to", "id": str(reply_to.tweet_id)})
    if quote_of is not None:
        refs.append({"type": "quoted", "id": str(quote_of)})
    if refs:
        obj["referenced_tweets"] = refs
    obj["reply_settings"] = "everyone"
    obj["text"] = text
    return obj


def v2_line(
    data: dict[str, Any],
    *,
    users: list[Persona],
    tweets: list[dict[str, Any]] | None = None,
    rule_tag: str = "hashcart",
    rule_id: str = "1795417202113077248",
) -> bytes:
    """One filtered-stream line: the post, its expansions, and the rule it matched."""
    includes: dict[str, Any] = {"users": [user_v2(p) for p in users]}
    if tweets:
        includes["tweets"] = tweets
    message = {
        "data": data,
        "includes": includes,
        "matching_rules": [{"id": rule_id, "tag": rule_tag}],
    }
    return _wire.x_v2_dumps(message).encode("utf-8")
