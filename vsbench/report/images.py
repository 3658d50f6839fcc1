"""The report's pictures as PNG data URIs, so that the page is one file to mail or archive."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from vsbench.figures import pyplot


@dataclass
class Image:
    """One embedded picture."""

    src: str  # data URI
    alt: str
    caption: str = ""


def png_uri(fig) -> str:
    """A matplotlib figure as a PNG data URI (100 dpi, tight); the figure is closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
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
