"""An order's packing slip as a PDF (issue 14), drawn with fpdf2's text API: the shop's name,
the order number and date, the shipping address and each line with its quantity and
variant words. Nothing a shopper or a feed wrote is ever read as markup (fpdf2's
`markdown` stays off): it is only text.

Addresses and titles come in every script. The slip embeds DejaVu Sans, the Unicode
TrueType font Debian installs under /usr/share/fonts (package fonts-dejavu-core), as a
subset; where no such font is found it falls back to the PDF core font Helvetica, which
holds Latin-1 only, and replaces every other character with "?" rather than failing.
Characters DejaVu Sans has no glyph for (Chinese, Japanese, Korean) are left blank, and
fpdf2 logs which: still no failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

# Where Debian, Ubuntu and Fedora put DejaVu Sans; the first that exists is used.
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


def unicode_font() -> Path | None:
    return next((path for path in UNICODE_FONTS if path.is_file()), None)


@dataclass(frozen=True)
class SlipLine:
    title: str
    quantity: int
    variant: str = ""


@dataclass(frozen=True)
class Slip:
    shop_name: str
    order_id: int
    placed_at: datetime
    address: tuple[str, ...]
    lines: tuple[SlipLine, ...]
    carrier: str | None = None


class _Text:
    """Text as the chosen font can draw it: everything with a Unicode font, Latin-1 with the
    core font (other characters become "?")."""

    def __init__(self, unicode: bool) -> None:
        self.unicode = unicode

    def __call__(self, text: str) -> str:
        # Control characters have no glyph and no place on paper.
        text = "".join(" " if ord(char) < 32 or 127 <= ord(char) < 160 else char for char in text)
        if self.unicode:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")


def packing_slip(slip: Slip, *, font: Path | None = None, compress: bool = True) -> bytes:
    """The slip as PDF bytes. `font` is a Unicode TrueType font (None: the core font and
    its Latin-1 fallback); `compress` off leaves the page's text stream readable (tests)."""
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_title(f"Packing slip, order {slip.order_id}")
    pdf.set_creator("hashcart")
    if font is not None:
        pdf.add_font("slip", "", str(font))
        family = "slip"
    else:
        family = "helvetica"
    text = _Text(font is not None)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(family, size=18)
    pdf.multi_cell(width, 9, text(slip.shop_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=13)
    pdf.cell(width, 8, text(f"Packing slip: order {slip.order_id}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    placed = f"Placed {slip.placed_at:%Y-%m-%d} (UTC)"
    if slip.carrier:
        placed = f"{placed} · Carrier: {slip.carrier}"
    pdf.multi_cell(width, 6, text(placed), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font(family, size=11)
    pdf.cell(width, 7, text("Ship to"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for part in slip.address:
        if part.strip():
            pdf.multi_cell(width, 5.5, text(part), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)

    quantity_width = 20
    item_width = width - quantity_width
    pdf.set_font(family, size=11)
    pdf.cell(quantity_width, 7, text("Qty"), border="B")
    pdf.cell(item_width, 7, text("Item"), border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for line in slip.lines:
        item = line.title if not line.variant else f"{line.title} ({line.variant})"
        top = pdf.get_y()
        pdf.cell(quantity_width, 6, text(str(line.quantity)))
        pdf.multi_cell(item_width, 6, text(item), new_x="LMARGIN", new_y="NEXT")
        if pdf.get_y() < top + 6:
            pdf.set_y(top + 6)
    return bytes(pdf.output())


__all__ = ["UNICODE_FONTS", "Slip", "SlipLine", "packing_slip", "unicode_font"]
