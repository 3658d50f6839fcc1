"""The report's pictures as PNG data URIs, so that the page is one file to mail or archive.

A picture drawn here (:func:`figure_image`) carries what the page's checks need: the methods
it shows in the order it shows them, their colours, and the layout problems
:func:`vsbench.report.overlaps.layout_problems` found in the figure."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Sequence

from vsbench.figures import pyplot
from vsbench.report.overlaps import layout_problems


@dataclass
class Image:
    """One embedded picture."""

    src: str  # data URI
    alt: str
    caption: str = ""
    methods: tuple[str, ...] = ()  # the method labels shown, in the order shown
    colors: tuple[str, ...] = ()  # their colours (#rrggbb), where the figure colours them
    problems: tuple[str, ...] = ()  # overlaps found when it was drawn (none expected)


def figure_image(fig, alt: str, caption: str, methods: Sequence[str] = (),
                 colors: Sequence[str] = ()) -> Image:
    """A matplotlib figure as an :class:`Image`, its layout checked first; the figure is
    closed."""
    problems = tuple(layout_problems(fig))  # lays the figure out: its tight box is known now
    box = fig.get_tightbbox().padded(0.1)  # what bbox_inches="tight" would find, drawn again
    return Image(png_uri(fig, box), alt, caption, tuple(methods), tuple(colors), problems)


def png_uri(fig, box=None) -> str:
    """A matplotlib figure as a PNG data URI (100 dpi) of ``box`` (inches; default: tight
    around every artist); the figure is closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight" if box is None else box)
    plt.close(fig)
    return uri(buffer.getvalue())


def uri(png: bytes) -> str:
    """PNG bytes (e.g. a run folder's picture) as a data URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def text_png(text: str) -> str:
    """A one-line picture of ``text`` (what stands in for a picture that cannot be drawn)."""
    plt = pyplot()
    fig = plt.figure(figsize=(6, 0.5))
    fig.text(0.01, 0.5, text, fontsize=8, va="center")
    return png_uri(fig)
