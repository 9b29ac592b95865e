"""Posters for communes: an A4 page per commune, in Vietnamese, that people scan at a
village meeting, a school or the commune office to open the bot with their commune
already chosen.

- Telegram: a QR code of `https://t.me/<bot>?start=c<commune code>` (the deep link the
  registration reads, flows.registration.apply_deep_link).
- Zalo: the OA's follow link as a QR code, and a short code to send ("XA 70"), which the
  conversation reads the same way (flows.registration.poster_code).

QR codes are made by segno; the page is drawn by matplotlib (already used for the charts)
with DejaVu Sans, its default font, which it ships and which carries every Vietnamese
letter, so a fresh machine needs no font. Fonts are embedded as TrueType (pdf.fonttype 42): the text
stays text, prints sharp and can be searched. The codes are drawn as black squares on
white, embedded unscaled, so they print sharp in black and white.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.lang import Lang
from flows.places import Commune, Gazetteer

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

A4 = (8.27, 11.69)  # inches
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class PosterLinks:
    """What the posters can carry: the Telegram bot's username (TELEGRAM_BOT_USERNAME)
    and the Zalo OA's follow link (ZALO_OA_LINK); "" when not configured."""

    telegram_username: str = ""
    zalo_link: str = ""

    @property
    def any(self) -> bool:
        return bool(self.telegram_username or self.zalo_link)


def telegram_link(username: str, commune: int) -> str:
    return f"https://t.me/{username}?start=c{commune}"


def zalo_code(commune: int) -> str:
    """What a Zalo follower sends to choose their commune (read by poster_code)."""
    return f"XA {commune}"


def missing_settings(links: PosterLinks) -> tuple[str, ...]:
    """The settings not set, by name."""
    return tuple(
        name
        for name, value in (
            ("TELEGRAM_BOT_USERNAME", links.telegram_username),
            ("ZALO_OA_LINK", links.zalo_link),
        )
        if not value
    )


def missing(links: PosterLinks, t: Lang) -> list[str]:
    """What is not configured, in words for the operator."""
    out = []
    if not links.telegram_username:
        out.append(t._("TELEGRAM_BOT_USERNAME (the bot's username, for the Telegram QR code)"))
    if not links.zalo_link:
        out.append(t._("ZALO_OA_LINK (the Official Account's follow link, for the Zalo QR code)"))
    return out


def _qr_image(text: str) -> Any:
    """The QR code of `text` as an array of grey levels (0 black, 1 white), quiet zone
    included: embedded as it is in the PDF (a 1-bit image), scaled by the printer without
    blurring (an image's /Interpolate is off), so every module stays square."""
    import numpy as np
    import segno

    code = segno.make(text, error="m", micro=False)
    matrix = np.array([list(row) for row in code.matrix], dtype=float)
    modules = 1.0 - np.pad(matrix, 4)  # the quiet zone of 4 modules
    # 8 pixels a module: each row of the 1-bit image is whole bytes, which some PDF
    # readers need (pypdf mis-reads rows that end inside a byte).
    return np.kron(modules, np.ones((8, 8)))


def _page(fig: Figure, commune: Commune, province: str, links: PosterLinks, t: Lang) -> None:
    black = "#000000"
    fig.text(0.5, 0.945, t._("LEARNING CITIZEN CAMPAIGN"), ha="center", fontsize=24,
             weight="bold", color=black)  # fmt: skip
    fig.text(0.5, 0.918, t._("Learning all life long"), ha="center", fontsize=16, style="italic")
    size = 30 if len(commune.name) <= 22 else 24 if len(commune.name) <= 30 else 20
    fig.text(0.5, 0.872, commune.name, ha="center", fontsize=size, weight="bold")
    fig.text(0.5, 0.843, province, ha="center", fontsize=17)
    fig.add_artist(_rule(fig, 0.825))
    fig.text(
        0.5,
        0.79,
        t._("Register and assess yourself on your phone"),
        ha="center",
        fontsize=20,
        weight="bold",
    )
    if links.telegram_username and links.zalo_link:
        scan = t._(
            "1. Scan a code below with your phone's camera or Zalo (install Telegram or "
            "Zalo first if you do not have it)."
        )
    elif links.telegram_username:
        scan = t._(
            "1. Scan the code below with your phone's camera (install Telegram first if you "
            "do not have it)."
        )
    else:
        scan = t._("1. Scan the code below with Zalo.")
    steps = [
        scan,
        t._("2. Answer the questions one by one: tap a button."),
        t._("3. About 5 minutes. You see your points at once."),
    ]
    y = 0.76
    for line in steps:  # 16 points at 1.3 lines: 0.025 of the page's height a line
        lines = textwrap.wrap(line, 58, subsequent_indent="    ")
        fig.text(0.09, y, "\n".join(lines), ha="left", va="top", fontsize=16, linespacing=1.3)
        y -= 0.025 * len(lines) + 0.012
    shown = [
        (
            "Telegram",
            telegram_link(links.telegram_username, commune.code),
            t._("Scan, then tap Start: your commune is already chosen."),
        )
        if links.telegram_username
        else None,
        (
            "Zalo",
            links.zalo_link,
            t._("Scan with Zalo, tap Follow (Quan tâm), then send: {code}").format(
                code=zalo_code(commune.code)
            ),
        )
        if links.zalo_link
        else None,
    ]
    codes = [c for c in shown if c is not None]
    width = 0.42 if len(codes) == 2 else 0.46
    for n, (name, link, how) in enumerate(codes):
        centre = 0.5 if len(codes) == 1 else (0.27, 0.73)[n]
        top = 0.57
        height = width * A4[0] / A4[1]
        ax = fig.add_axes((centre - width / 2, top - height, width, height))
        ax.imshow(_qr_image(link), cmap="gray", vmin=0, vmax=1, interpolation="none")
        ax.set_axis_off()
        fig.text(centre, top + 0.012, name, ha="center", fontsize=24, weight="bold")
        fig.text(
            centre,
            top - height - 0.02,
            textwrap.fill(how, 30 if len(codes) == 2 else 50),
            ha="center",
            va="top",
            fontsize=14,
            linespacing=1.3,
        )
        if name == "Zalo":
            fig.text(
                centre,
                top - height - 0.12,
                zalo_code(commune.code),
                ha="center",
                va="top",
                fontsize=34,
                weight="bold",
                family="DejaVu Sans Mono",
            )
        else:
            fig.text(centre, top - height - 0.12, link, ha="center", va="top", fontsize=11)
    fig.add_artist(_rule(fig, 0.09))
    fig.text(
        0.5,
        0.077,
        textwrap.fill(
            t._(
                "No smartphone? Fill in a paper form and give it to your village head or "
                "the learning-promotion association of {commune}."
            ).format(commune=commune.name),
            80,
        ),
        ha="center",
        va="top",
        fontsize=13,
        linespacing=1.3,
    )


def _rule(fig: Figure, y: float) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D([0.08, 0.92], [y, y], color="black", linewidth=1.5)


def poster_pdf(
    communes: Sequence[Commune], places: Gazetteer, links: PosterLinks, t: Lang
) -> bytes:
    """A PDF with one A4 page per commune."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    out = io.BytesIO()
    # Fonts embedded as TrueType, set once for the process (matplotlib's settings are
    # global, so never changed and restored around one PDF while another is drawn); the
    # lock keeps two PDFs from being drawn at once.
    matplotlib.rcParams["pdf.fonttype"] = 42
    with _DRAWING, PdfPages(out, metadata={"Title": t._("Learning Citizen posters")}) as pdf:
        for commune in communes:
            province = places.province(commune.province_code)
            fig = Figure(figsize=A4)
            _page(fig, commune, province.name if province else "", links, t)
            pdf.savefig(fig)
    return out.getvalue()


def poster_png(
    commune: Commune, places: Gazetteer, links: PosterLinks, t: Lang, dpi: int = 150
) -> bytes:
    """One commune's page as a PNG (to look at or print; the README's at 80 dpi)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with _DRAWING:
        fig = Figure(figsize=A4)
        province = places.province(commune.province_code)
        _page(fig, commune, province.name if province else "", links, t)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def file_name(communes: Sequence[Commune], province: int | None = None) -> str:
    if province is not None and len(communes) != 1:
        return f"cdht-ap-phich-tinh-{province}.pdf"
    return f"cdht-ap-phich-xa-{communes[0].code}.pdf" if communes else "cdht-ap-phich.pdf"
