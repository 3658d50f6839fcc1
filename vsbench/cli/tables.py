"""Listings that fit the terminal (torch-free): a table where its words fit, one block per row
where they would not.

Rich squeezes a table that is wider than the terminal by breaking words and cutting cells to
``…``: at 80 columns a ten-column listing becomes ``syn…``. :func:`print_listing` measures
first: when every column's longest word (and its header) fits side by side, it prints the
table; otherwise each row becomes a small block, its first cell as a heading and the others as
``column: value`` lines, which wrap at spaces only. Cells are plain text (markup escaped), so a
value such as ``[lr=0.01]`` is shown as written.
"""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

# A table border: one vertical line per column plus one, and one space of padding each side.
_BORDER_PER_COLUMN = 3


def _longest_word(text: str) -> int:
    return max((len(word) for word in str(text).split()), default=0)


def fits(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> bool:
    """Whether a table of ``rows`` can be ``width`` wide without breaking a word."""
    need = 1
    for i, column in enumerate(columns):
        need += _BORDER_PER_COLUMN + max([_longest_word(column)] +
                                         [_longest_word(row[i]) for row in rows])
    return need <= width


def print_listing(console: Console, title: str, columns: Sequence[str],
                  rows: Sequence[Sequence[str]], styles: dict[str, str] | None = None) -> None:
    """Print ``rows`` (plain strings, one per column) as a table, or as blocks when the table
    would not fit ``console``'s width (``styles``: a rich style per column name)."""
    styles = styles or {}
    if fits(columns, rows, console.width):
        table = Table(title=escape(title))
        for column in columns:
            table.add_column(escape(column), style=styles.get(column))
        for row in rows:
            table.add_row(*(Text(str(cell)) for cell in row))
        console.print(table)
        return
    console.print(Text(title, style="bold"))
    for row in rows:
        console.print(Text(str(row[0]), style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for column, cell in zip(columns[1:], row[1:]):
            grid.add_row(Text(f"  {column}:"), Text(str(cell), style=styles.get(column) or ""))
        console.print(grid)
