"""A small SVG line chart: axes, grid, labels and a legend, as one self-contained picture.

Hand-written rather than a chart library because the picture is simple and the console's
CSP forbids inline script and style: this SVG has neither (colours and fonts are
presentation attributes), so it is safe to serve as an image under the site's own policy.
Every text in it is XML-escaped, since titles and labels may carry what strangers wrote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
INK = "#1d2330"
MUTED = "#5d6677"
GRID = "#e3e6ec"
MAX_TITLE_CHARS = 80
MAX_SUBTITLE_CHARS = 110


@dataclass(frozen=True)
class Series:
    name: str
    colour: str  # "#rrggbb"
    values: Sequence[int]

    def __post_init__(self) -> None:
        if not _COLOUR.fullmatch(self.colour):
            raise ValueError(f"not a #rrggbb colour: {self.colour!r}")


def nice_step(largest: int, ticks: int = 5) -> int:
    """A round step (1, 2, 5, 10, 20, 50, …) giving at most `ticks` steps up to `largest`."""
    raw = max(largest, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        step = int(factor * magnitude)
        if step >= raw:
            return max(step, 1)
    return int(10 * magnitude)


def _text(x: float, y: float, content: str, **attributes: str) -> str:
    extra = "".join(
        f" {name.replace('_', '-')}={quoteattr(value)}" for name, value in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    subtitle: str = "",
    width: int = 760,
    height: int = 320,
    y_title: str = "",
) -> str:
    """An SVG document: one line per series over `x_labels`, zero-based y axis."""
    points = len(x_labels)
    if any(len(s.values) != points for s in series):
        raise ValueError("every series needs one value per x label")
    left, right, top, bottom = 52, 26, 72, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((v for s in series for v in s.values), default=0)
    step = nice_step(largest)
    y_max = max(step, math.ceil(largest / step) * step)

    def x_at(index: int) -> float:
        return left + (plot_w / 2 if points < 2 else index * plot_w / (points - 1))

    def y_at(value: int) -> float:
        return top + plot_h - value * plot_h / y_max

    label = _shorten(title, MAX_TITLE_CHARS)
    described = f"{label}: {subtitle}" if subtitle else label
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(described)} '
        f'font-family={quoteattr(FONT)} font-size="12">',
        f"<title>{escape(described)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(left, 22, label, fill=INK, font_size="15", font_weight="600"),
    ]
    if subtitle:
        out.append(_text(left, 40, _shorten(subtitle, MAX_SUBTITLE_CHARS), fill=MUTED))
    # Legend, on one line under the titles.
    legend_x = float(left)
    for s in series:
        name = _shorten(s.name, 40)
        out.append(
            f'<rect x="{legend_x:.1f}" y="53" width="14" height="4" rx="2" fill="{s.colour}"/>'
        )
        out.append(_text(legend_x + 20, 59, name, fill=INK))
        legend_x += 20 + 7.2 * len(name) + 24
    # Horizontal grid lines with their values.
    for value in range(0, y_max + 1, step):
        y = y_at(value)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(left - 8, y + 4, str(value), fill=MUTED, text_anchor="end"))
    if y_title:
        out.append(
            _text(
                14,
                top + plot_h / 2,
                _shorten(y_title, 40),
                fill=MUTED,
                text_anchor="middle",
                transform=f"rotate(-90 14 {top + plot_h / 2:.1f})",
            )
        )
    # Axes.
    base = top + plot_h
    out.append(
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    out.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="{MUTED}" stroke-width="1"/>'
    )
    # X labels, thinned to about eight (fewer on a narrow chart) so they never overlap,
    # counted back from the last (the newest) so it always has one and the spacing stays even.
    every = max(1, math.ceil(points / max(2, min(8, plot_w // 80))))
    for index, text in enumerate(x_labels):
        if (points - 1 - index) % every == 0:
            x = x_at(index)
            out.append(
                f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="{MUTED}"/>'
            )
            out.append(_text(x, base + 18, _shorten(text, 16), fill=MUTED, text_anchor="middle"))
    # The lines, with a dot per point while there is room for dots.
    for s in series:
        coords = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(s.values))
        if points:
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{s.colour}" '
                'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>'
            )
        if points <= 120:
            out.extend(
                f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="2.6" fill="{s.colour}"/>'
                for i, v in enumerate(s.values)
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
