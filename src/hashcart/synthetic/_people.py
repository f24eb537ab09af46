"""Who posts: one persona can hold an account on each network.

Ids are the networks' own stable ids (X user id, Mastodon account uri, Bluesky DID);
Mastodon also needs the receiving server's local account id, which mentions and
`in_reply_to_account_id` use.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from hashcart.synthetic import _wire

# The Mastodon server whose streams we read (the brand's home server). Accounts on other
# servers arrive as remote accounts: `acct` is `user@domain`, ids are this server's.
HOME_INSTANCE = "mastodon.example"
OTHER_INSTANCES = ("fosstodon.example", "hachyderm.example", "social.example", "mas.example")


@dataclass(frozen=True, slots=True)
class XAccount:
    id: int
    screen_name: str

    @property
    def id_str(self) -> str:
        return str(self.id)


@dataclass(frozen=True, slots=True)
class MastodonAccount:
    local_id: int  # as the receiving server numbers it
    username: str
    domain: str

    @property
    def acct(self) -> str:
        return self.username if self.domain == HOME_INSTANCE else f"{self.username}@{self.domain}"

    @property
    def uri(self) -> str:
        return f"https://{self.domain}/users/{self.username}"

    @property
    def url(self) -> str:
        return f"https://{self.domain}/@{self.username}"


@dataclass(frozen=True, slots=True)
class BlueskyAccount:
    did: str
    handle: str


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    bio: str
    location: str
    website: str | None
    joined: datetime
    followers: int
    following: int
    posts: int
    likes: int
    x: XAccount | None = None
    mastodon: MastodonAccount | None = None
    bluesky: BlueskyAccount | None = None


_FIRST = (
    "Alex",
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jae",
    "Kofi",
    "Lena",
    "Marco",
    "Nadia",
    "Owen",
    "Paula",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Will",
    "Xin",
    "Yara",
    "Zoë",
    "Björn",
    "Ngozi",
    "Mateo",
    "Aiko",
    "Ravi",
)
_LAST = (
    "Adams",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "López",
    "Moreau",
    "Nakamura",
    "Okonkwo",
    "Petrov",
    "Quiroga",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Yilmaz",
    "Zhou",
)
_BIOS = (
    "Trail runner, bad at rest days. Coffee before conversation.",
    "Weekend backpacker, weekday spreadsheet wrangler. she/her",
    "Photographer chasing fog in the Cascades 📷🌲",
    "Sourdough, bouldering, and too many houseplants.",
    "Product designer. Camps in the rain on purpose.",
    "Dad of two, owner of one very opinionated dog 🐕",
    "Climbing gym regular | home barista in training ☕",
    "Writing about maps, trains & long walks.",
    "Nurse on nights. Hiker on days off. he/him",
    "Birds, books, and bikepacking. Views my own.",
    "Software person. Sometimes I go outside.",
    "Amateur astronomer — dark skies or bust ✨",
    "Ultralight gear nerd. Ask me about my spreadsheet of grams.",
    "Teacher. Trail volunteer. Collector of enamel mugs.",
    "Café hopper in Lisbon 🇵🇹 — pastéis de nata reviewer",
    "Marathon #3 in October. Fuelled by espresso.",
)
_PLACES = (
    "Portland, OR",
    "Seattle, WA",
    "Denver, CO",
    "Boulder, CO",
    "Vancouver, BC",
    "Bend, OR",
    "Salt Lake City",
    "Asheville, NC",
    "Berlin",
    "Lisbon",
    "Leeds, UK",
    "Melbourne",
    "Toronto",
    "Minneapolis",
    "Oakland, CA",
    "Tokyo 東京",
    "",
)


def random_persona(
    rng: random.Random,
    *,
    x: bool = False,
    mastodon: bool = False,
    bluesky: bool = False,
    mastodon_local_ms: int = 1_690_000_000_000,
) -> Persona:
    """A believable stranger, with accounts on the networks asked for."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    base = (first + last[: rng.randint(1, len(last))]).lower()
    base = base.encode("ascii", "ignore").decode() or "user"
    handle = f"{base}{rng.randint(2, 9999)}" if rng.random() < 0.6 else f"{base}_{last[:2].lower()}"
    handle = handle.encode("ascii", "ignore").decode()[:15]
    joined = datetime(
        2009 + rng.randint(0, 14),
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
        tzinfo=UTC,
    )
    website = f"https://{base}.example" if rng.random() < 0.35 else None
    x_account = None
    if x:
        joined_ms = _wire.to_ms(joined)
        uid = (
            _wire.x_snowflake(joined_ms, rng.randrange(1024), rng.randrange(4096))
            if joined.year >= 2016 and rng.random() < 0.8
            else rng.randrange(10_000_000, 3_000_000_000)
        )
        x_account = XAccount(uid, handle)
    masto = None
    if mastodon:
        domain = HOME_INSTANCE if rng.random() < 0.4 else rng.choice(OTHER_INSTANCES)
        masto = MastodonAccount(
            _wire.mastodon_id(mastodon_local_ms - rng.randrange(10**11), rng.randrange(65536)),
            handle.lower(),
            domain,
        )
    bsky = None
    if bluesky:
        bsky = BlueskyAccount(_wire.did_plc(rng), f"{handle.lower().replace('_', '-')}.bsky.social")
    followers = int(rng.paretovariate(1.2) * 40)
    return Persona(
        name=f"{first} {last}",
        bio=rng.choice(_BIOS),
        location=rng.choice(_PLACES),
        website=website,
        joined=joined,
        followers=min(followers, 250_000),
        following=rng.randint(20, 2_000),
        posts=rng.randint(30, 40_000),
        likes=rng.randint(10, 90_000),
        x=x_account,
        mastodon=masto,
        bluesky=bsky,
    )
