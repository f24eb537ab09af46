"""The demo's everyday noise: strangers' posts, replies, reposts, likes and follows on every
network, spread over the day."""

from __future__ import annotations

from typing import Any

from hashcart.synthetic import _people, _text, bluesky, mastodon, x
from hashcart.synthetic._demo_builder import Builder
from hashcart.synthetic._richtext import RichText, parse


def add_noise(b: Builder, count: int) -> None:
    """Everyday posts from strangers, spread over the day: the bulk of any real stream."""
    rng = b.rng
    x_people = [_people.random_persona(rng, x=True) for _ in range(40)]
    m_people = [_people.random_persona(rng, mastodon=True) for _ in range(30)]
    b_people = [_people.random_persona(rng, bluesky=True) for _ in range(40)]
    x_recent: list[tuple[dict[str, Any], x.TweetRef]] = []
    b_recent: list[bluesky.PostRef] = []
    m_recent: list[mastodon.StatusRef] = []
    fracs = sorted(rng.uniform(0.0, 1.0) for _ in range(count))
    for frac in fracs:
        roll = rng.random()
        words = parse(rng.choice(_text.NOISE))
        lang = "ja" if any("\u3040" <= ch <= "\u30ff" for ch in _plain(words)) else "en"
        if roll < 0.30:
            who = rng.choice(x_people)
            if x_recent and rng.random() < 0.25:
                original, _ = rng.choice(x_recent)
                b.x_retweet(who, frac, original, "noise")
            else:
                reply_to = rng.choice(x_recent)[1] if x_recent and rng.random() < 0.15 else None
                obj, ref = b.x_post(
                    who,
                    frac,
                    words,
                    "noise",
                    reply_to=reply_to,
                    photo=rng.random() < 0.2,
                    place=rng.random() < 0.15,
                    lang=lang,
                )
                x_recent.append((obj, ref))
        elif roll < 0.35:
            b.x_v2_post(rng.choice(x_people), frac, words, "noise", rule_tag="coffee OR camping")
        elif roll < 0.58:
            who = rng.choice(m_people)
            m_parent = rng.choice(m_recent) if m_recent and rng.random() < 0.15 else None
            image = "A photo from a morning walk" if rng.random() < 0.2 else None
            _, mref = b.m_post(
                who,
                frac,
                words,
                "noise",
                reply_to=m_parent,
                streaming=rng.random() < 0.5,
                image=image,
                language=lang,
            )
            m_recent.append(mref)
        elif roll < 0.78:
            who = rng.choice(b_people)
            reply = rng.choice(b_recent) if b_recent and rng.random() < 0.2 else None
            embed = bluesky.images_embed(alt="photo", rng=rng) if rng.random() < 0.15 else None
            commit = b.b_post(who, frac, words, "noise", reply_to=reply, embed=embed, langs=(lang,))
            if commit.ref is not None:
                b_recent.append(commit.ref)
        elif roll < 0.92:
            if b_recent:
                actor = rng.choice(b_people)
                b.b_subject(actor, frac, "app.bsky.feed.like", rng.choice(b_recent))
        elif roll < 0.96:
            if b_recent:
                b.b_subject(
                    rng.choice(b_people), frac, "app.bsky.feed.repost", rng.choice(b_recent)
                )
        elif roll < 0.995:
            actor, target = rng.sample(b_people, 2)
            assert target.bluesky is not None
            b.b_subject(actor, frac, "app.bsky.graph.follow", target.bluesky.did)
        else:
            who = rng.choice(b_people)
            assert who.bluesky is not None
            b.emit(
                b.at(frac),
                bluesky.identity_event(
                    did=who.bluesky.did,
                    handle=who.bluesky.handle,
                    when=b.at(frac),
                    seq=rng.randrange(10**10, 4 * 10**10),
                ),
                ("jetstream_noise",),
                None,
            )


def _plain(segs: RichText) -> str:
    return "".join(seg.value for seg in segs)
