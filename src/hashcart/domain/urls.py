"""Plain URL handling: one canonical form per link, and the links written in a post's text.

The same product link reaches us in many spellings (tracking parameters, `www.`, Amazon's
`/ref=` segments, Unicode hosts); comparing canonical forms makes them one. The host rules
are strict on purpose, because the host decides whether a link belongs to the shop:

- a URL with userinfo (`https://shop.example@evil.test/`) is refused: its host is
  `evil.test`, and nothing legitimate puts credentials in a product link;
- a host with `%`, `\\`, whitespace, control or invisible (format) characters is refused;
- a Unicode host is converted to its punycode form (IDNA, UTS 46), so a homograph such as a
  Cyrillic `о` is simply another host; but a label that UTS 46 would turn into plain ASCII
  (fullwidth letters, `．` or `。` as dots, ignored code points) is refused: a compatibility
  spelling of an ASCII name is a disguise, and refusing it keeps the shop host's byte
  needle (`products.shop_host_pattern`) sound;
- one trailing dot (`shop.example.`) names the same host in DNS and is dropped.

The scheme's default port (`:443`, `:80`) is dropped; port 0 and ports past 65535 are refused.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import quote, urlsplit

# Product links are short; anything longer is not one, and refusing it early keeps
# hostile input cheap.
MAX_URL_LENGTH = 4096

# Query parameters that say where a click came from, never which product it is.
TRACKING_PARAMS = frozenset(
    {
        # Amazon: associate tag, referral markers, search and placement context.
        "tag", "ref", "ref_", "linkcode", "linkid", "ascsubtag", "creative", "creativeasin",
        "camp", "qid", "sr", "crid", "sprefix", "keywords", "dib", "dib_tag", "th", "psc",
        "content-id", "_encoding", "smid",
        # Shopify: search and recommendation bookkeeping.
        "_pos", "_sid", "_ss", "_psq", "_fid", "pr_prod_strat", "pr_rec_id", "pr_rec_pid",
        "pr_ref_pid", "pr_seq",
        # Ad and e-mail click ids, social share markers.
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl",
        "mkt_tok", "_hsenc", "_hsmi", "si", "s", "spm", "srsltid", "trk", "s_cid",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pf_rd_", "pd_rd_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_STRIPPED_LABELS = frozenset({"www", "m"})
_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# An escape, a `%` that starts none, or a character a URL may not hold raw.
_TO_NORMALISE = re.compile(r"%([0-9A-Fa-f]{2})|%|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]")
# Refused anywhere in a URL: ASCII controls, space and backslash (a browser reads `\` as `/`).
_FORBIDDEN_ASCII = re.compile(r"[\x00-\x20\x7f\\]")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


@dataclass(frozen=True, slots=True)
class CanonicalUrl:
    """A link in canonical form; `str()` gives the text that equal links share."""

    scheme: str  # "http" or "https"
    host: str  # lower-case ASCII (punycode), without `www.`/`m.` or a trailing dot
    port: int | None  # None for the scheme's default port
    path: str  # "" or "/..." without a trailing slash, `/ref=` segments or dot segments
    query: tuple[str, ...]  # "key=value" pieces, tracking ones dropped, sorted by key

    @property
    def address(self) -> str:
        """The canonical form without its scheme (shops answer both on the same page)."""
        port = "" if self.port is None else f":{self.port}"
        query = "?" + "&".join(self.query) if self.query else ""
        return f"{self.host}{port}{self.path}{query}"

    def param(self, name: str) -> str | None:
        """The first value of query parameter `name`, as written (escapes normalised)."""
        prefix = name + "="
        for piece in self.query:
            if piece.startswith(prefix):
                return piece[len(prefix) :]
        return None

    def __str__(self) -> str:
        return f"{self.scheme}://{self.address}"


def canonical_url(url: str) -> str | None:
    """The canonical form of an http(s) link, or None when `url` is not one we accept."""
    canonical = canonicalize(url)
    return None if canonical is None else str(canonical)


def canonicalize(url: str) -> CanonicalUrl | None:
    """Parse `url` into its canonical parts; None for anything but a plain http(s) link.

    Never raises: post text is written by strangers.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        return None
    return _canonicalize(url)


@lru_cache(maxsize=16_384)
def _canonicalize(url: str) -> CanonicalUrl | None:
    """Cached: streams repeat the same links (a shop's product pages) over and over."""
    url = url.strip(" \t\n\r\f")
    if _FORBIDDEN_ASCII.search(url) or not (url.isascii() or _printable(url)):
        return None
    try:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            return None
        host_and_port = _host_and_port(parts.netloc, parts.scheme)
        if host_and_port is None:
            return None
        path = _normalise_path(parts.path)
        query = _normalise_query(parts.query)
    except (ValueError, UnicodeError):  # urlsplit's netloc checks, idna, ipaddress
        return None
    return CanonicalUrl(parts.scheme, host_and_port[0], host_and_port[1], path, query)


@lru_cache(maxsize=4096)
def canonical_host(host: str) -> str | None:
    """A host name in canonical form (see the module rules), or None if it is not one."""
    if host.endswith("."):
        host = host[:-1]
    if not host or len(host) > 253:
        return None
    if host.isascii():
        labels = host.lower().split(".")
        if not all(_ASCII_LABEL.fullmatch(label) for label in labels):
            return None
        if any(label.startswith("xn--") and not _is_a_label(label) for label in labels):
            return None
    else:
        if not _printable(host):
            return None
        import idna  # only non-ASCII hosts need it: loaded here, not at start (benchmarks.md)

        try:
            encoded = idna.encode(host, uts46=True).decode("ascii")
        except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
            return None
        written = host.split(".")
        labels = encoded.split(".")
        if len(written) != len(labels):  # UTS 46 read a non-ASCII dot as a separator
            return None
        for before, after in zip(written, labels, strict=True):
            if before.isascii():
                if before.lower() != after:
                    return None
            elif not after.startswith("xn--"):
                return None  # a compatibility spelling of an ASCII label
    while len(labels) > 2 and labels[0] in _STRIPPED_LABELS:
        labels = labels[1:]
    return ".".join(labels)


def extract_urls(text: str, bare_host: Callable[[str], bool] | None = None) -> list[str]:
    """The links written in plain text, in order, for posts that carry no link metadata.

    Finds `http(s)://` links and `www.` links; with `bare_host`, also `host/path` links
    whose host it accepts (so `shop.example/products/mug` counts, `foo.bar/x` does not).
    Links without a scheme come back with `https://` in front. Trailing punctuation is
    not part of a link, nor is a closing bracket that has no opening one inside it
    (`(see https://shop.example/p/a_(b))` gives `https://shop.example/p/a_(b)`).
    A candidate longer than `MAX_URL_LENGTH` is skipped.
    """
    found: list[str] = []
    patterns = _link_patterns()
    pattern = patterns.link_or_bare_host if bare_host is not None else patterns.link
    position = 0
    while match := pattern.search(text, position):
        position = match.end()
        start = match.group("start")
        if start is None:  # a bare host: keep it only when it is one the caller wants
            assert bare_host is not None
            if not bare_host(match.group()):
                continue
            path = patterns.path_run.match(text, position)
            position = path.end() if path else position
            start = ""
        candidate = _trim(text[match.start() : position])
        if len(start) < len(candidate) <= MAX_URL_LENGTH:
            found.append(candidate if match.group("scheme") else "https://" + candidate)
    return found


def _printable(text: str) -> bool:
    return all(unicodedata.category(char) not in _FORBIDDEN_CATEGORIES for char in text)


def _is_a_label(label: str) -> bool:
    """True for a punycode label that decodes to a valid, non-ASCII label and back."""
    import idna  # only `xn--` labels need it, as above

    try:
        decoded = idna.decode(label)
        return not decoded.isascii() and idna.encode(decoded).decode("ascii") == label
    except (UnicodeError, ValueError):
        return False


def _host_and_port(netloc: str, scheme: str) -> tuple[str, int | None] | None:
    if not netloc or "@" in netloc:  # userinfo: the real host is after the `@`
        return None
    if netloc.startswith("["):
        literal, _, port_text = netloc[1:].partition("]")
        host = f"[{ipaddress.IPv6Address(literal).compressed}]"
        if port_text and not port_text.startswith(":"):
            return None
        port_text = port_text[1:]
    else:
        name, _, port_text = netloc.partition(":")
        canonical = canonical_host(name)
        if canonical is None:
            return None
        host = canonical
    if not port_text:
        return host, None
    port = parse_port(port_text)
    if port is None:
        return None
    return host, None if port == _DEFAULT_PORTS[scheme] else port


def parse_port(text: str) -> int | None:
    """A TCP port written in decimal ASCII digits, 1 to 65535; None for anything else.

    Port 0 is no port a server listens on (it asks the system for any free one).
    """
    digits = text.lstrip("0")  # leading zeros are allowed, and never reach `int` in bulk
    if not (text.isascii() and text.isdigit()) or len(digits) > 5:
        return None
    port = int(digits or "0")
    return port if 0 < port <= 65535 else None


def _normalise_escapes(text: str) -> str:
    """Decode escaped unreserved characters, upper-case other escapes, escape the rest."""

    def replace(match: re.Match[str]) -> str:
        hex_digits = match.group(1)
        if hex_digits is None:
            return quote(match.group(), safe="")
        char = chr(int(hex_digits, 16))
        return char if char in _UNRESERVED else "%" + hex_digits.upper()

    return _TO_NORMALISE.sub(replace, text)


def _normalise_path(path: str) -> str:
    segments: list[str] = []
    for segment in _normalise_escapes(path).split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    kept = [segment for segment in segments if not segment.lower().startswith("ref=")]
    return ("/" + "/".join(kept)).rstrip("/")


def _normalise_query(query: str) -> tuple[str, ...]:
    pieces = []
    for piece in _normalise_escapes(query).split("&"):
        key = piece.partition("=")[0].lower()
        if piece and key not in TRACKING_PARAMS and not key.startswith(TRACKING_PREFIXES):
            pieces.append(piece)
    return tuple(sorted(pieces, key=lambda piece: piece.partition("=")[0]))


# A link ends at whitespace, quotes, angle brackets, invisible characters and CJK
# punctuation; its path (not its host) also ends where CJK text starts, as twitter-text's
# does, since CJK writers put no space after a link. Trailing punctuation goes in `_trim`.
_STOP = (
    r"\s<>\"'`\x00-\x1f\x7f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
    r"\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u3001\u3002\u300c\u300d\uff08\uff09"
)
_CJK = (  # Hangul, kana, CJK ideographs, fullwidth forms
    r"\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef"
)
_PATH = rf"(?:[/?#][^{_STOP}{_CJK}]*)?"
_NOT_AFTER = r"(?<![A-Za-z0-9_$#@])"  # not inside a word, a $cashtag, #hashtag or @mention
_SCHEME_OR_WWW = rf"{_NOT_AFTER}(?P<start>(?P<scheme>https?://)|www\.)[^{_STOP}/?#]*{_PATH}"


@dataclass(frozen=True)
class _LinkPatterns:
    link: re.Pattern[str]
    link_or_bare_host: re.Pattern[str]
    path_run: re.Pattern[str]


@cache
def _link_patterns() -> _LinkPatterns:
    """Compiled on first use: the two case-insensitive link patterns take about 10 ms to
    compile, which a command that reads no post text (`hashcart ingest` of an empty file,
    `hashcart carts`) need not pay at start (docs/benchmarks.md, "Start-up")."""
    return _LinkPatterns(
        link=re.compile(_SCHEME_OR_WWW, re.IGNORECASE),
        link_or_bare_host=re.compile(
            rf"{_SCHEME_OR_WWW}"
            r"|(?<![A-Za-z0-9_$#@./:-])(?P<bare>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?=/)",
            re.IGNORECASE,
        ),
        path_run=re.compile(_PATH),
    )


_TRAILING = frozenset(".,;:!?'\"…。、！？")
_OPENERS = {")": "(", "]": "[", "}": "{"}


def _trim(candidate: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets, in linear time."""
    unbalanced = {
        closer: candidate.count(closer) - candidate.count(opener)
        for closer, opener in _OPENERS.items()
    }
    end = len(candidate)
    while end:
        last = candidate[end - 1]
        if last in _TRAILING:
            end -= 1
        elif unbalanced.get(last, 0) > 0:
            unbalanced[last] -= 1
            end -= 1
        else:
            break
    return candidate[:end]
