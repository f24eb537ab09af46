"""Encode a payload once, then stamp out lines by filling a few holes.

A template is built by running the ordinary payload builders with sentinel values in the
fields that vary (ids, times, the author object), encoding the result with the network's
own encoder, and turning each sentinel into a `%b` hole of a bytes format. Rendering a
line is then one `bytes % tuple` in C, which is what makes the benchmark generator fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from operator import itemgetter
from typing import Any


class Template:
    __slots__ = ("_get", "fields", "fmt")

    def __init__(self, encoded: str, holes: Mapping[str, str]) -> None:
        """`holes` maps a sentinel (as it appears in `encoded`) to a field name. A sentinel
        that stands for a whole JSON value (an object, a number) should include the quotes
        the encoder put around it. Longer sentinels win over their prefixes."""
        text = encoded.replace("%", "%%")
        pattern = re.compile("|".join(re.escape(s) for s in sorted(holes, key=len, reverse=True)))
        pieces: list[str] = []
        fields: list[str] = []
        pos = 0
        for match in pattern.finditer(text):
            pieces.append(text[pos : match.start()])
            pieces.append("%b")
            fields.append(holes[match.group()])
            pos = match.end()
        pieces.append(text[pos:])
        self.fmt = "".join(pieces).encode("utf-8")
        self.fields = tuple(fields)
        self._get: Any = itemgetter(*fields) if fields else None

    def render(self, values: Mapping[str, bytes]) -> bytes:
        if self._get is None:
            return self.fmt % ()
        got = self._get(values)
        return self.fmt % (got if len(self.fields) > 1 else (got,))
