"""Layout problems of a drawn matplotlib figure, found from its artists' window extents.

A PNG's contents are not in the page's DOM, so the report checks its figures here, when they
are drawn: a legend must lie outside every axes (so never over bars, lines or error bars), no
two texts may overlap, a text may not reach into a picture or plot that is not its own (a
rotated row label spilling into the next row), and a text placed in a cell with ``ax.text``
must stay inside that cell. The problems found travel with the picture
(:class:`vsbench.report.images.Image`) into the page, where a test reads them.
"""

from __future__ import annotations

from matplotlib.transforms import Bbox

TOLERANCE = 1.0  # pixels two boxes may share (anti-aliased edges touch)


def layout_problems(fig) -> list[str]:
    """Every overlap in ``fig`` (drawn here without rendering), as short descriptions."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    content = [ax for ax in axes if _has_content(ax)]
    texts = [(owner, text, text.get_window_extent(renderer)) for owner, text in _texts(fig)]
    problems = []
    for owner, legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        for ax in content:
            if _overlap(box, ax.bbox):
                problems.append(f"legend of {_name(fig, owner)} over {_name(fig, ax)}")
            for artist in (*ax.patches, *ax.lines, *ax.collections):
                if artist.get_visible() and _overlap(box, artist.get_window_extent(renderer)):
                    problems.append(f"legend of {_name(fig, owner)} over a plotted "
                                    f"{type(artist).__name__} of {_name(fig, ax)}")
                    break
    for i, (owner, text, box) in enumerate(texts):
        for other_owner, other, other_box in texts[i + 1:]:
            if _overlap(box, other_box):
                problems.append(f"text {text.get_text()!r} over text {other.get_text()!r}")
        for ax in content:
            if ax is not owner and _overlap(box, ax.bbox):
                problems.append(f"text {text.get_text()!r} of {_name(fig, owner)} over "
                                f"{_name(fig, ax)}")
        if owner is not None and text in owner.texts and not _inside(box, owner.bbox):
            problems.append(f"text {text.get_text()!r} outside its cell {_name(fig, owner)}")
    return problems


def _has_content(ax) -> bool:
    """A plot or a picture (a blank, axis-off cell holding only a label is not)."""
    return bool(ax.axison or ax.images)


def _legends(fig):
    yield from ((None, legend) for legend in fig.legends)
    yield from ((ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None)


def _texts(fig):
    """(owning axes or None, text) for every visible, non-empty text of the figure, legend
    texts included (they are checked against every other text)."""
    found = [(None, t) for t in fig.texts]
    if getattr(fig, "_suptitle", None) is not None:
        found.append((None, fig._suptitle))
    for legend in fig.legends:
        found += [(None, t) for t in legend.get_texts()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        own = [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.axison:
            own += [ax.xaxis.label, ax.yaxis.label, ax.yaxis.offsetText, ax.xaxis.offsetText]
            own += _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
        if ax.get_legend() is not None:
            own += ax.get_legend().get_texts()
        found += [(ax, t) for t in own]
    return [(owner, t) for owner, t in found if t.get_visible() and t.get_text().strip()]


def _tick_labels(axis) -> list:
    """The tick labels ``axis`` draws: those of ticks inside the view (``get_ticklabels``
    also returns labels of ticks outside it, which are not drawn)."""
    try:
        ticks = axis._update_ticks()  # what Axis.draw uses
    except AttributeError:  # a matplotlib without it: every label, at worst a false alarm
        return list(axis.get_ticklabels())
    return [label for tick in ticks for label in (tick.label1, tick.label2)]


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE
            and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE)


def _inside(a: Bbox, b: Bbox) -> bool:
    return (a.x0 >= b.x0 - TOLERANCE and a.x1 <= b.x1 + TOLERANCE
            and a.y0 >= b.y0 - TOLERANCE and a.y1 <= b.y1 + TOLERANCE)


def _name(fig, ax) -> str:
    if ax is None:
        return "the figure"
    title = ax.get_title()
    return f"axes {fig.axes.index(ax)}" + (f" ({title!r})" if title else "")
