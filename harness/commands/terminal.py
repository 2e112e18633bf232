"""Tables that fit the terminal: long cells wrapped, no line wider than the screen."""

from __future__ import annotations

import shutil

NOT_A_TERMINAL = 100  # the width when stdout is a pipe or a file and $COLUMNS is not set
MIN_COLUMN = 8  # no column is wrapped narrower (a very narrow terminal overflows)


def width() -> int:
    """``$COLUMNS`` when set, else the terminal's width, else ``NOT_A_TERMINAL``."""
    return shutil.get_terminal_size((NOT_A_TERMINAL, 24)).columns


def column_widths(natural: list[int], room: int, floors: list[int]) -> list[int]:
    """Widths that share ``room`` characters. Columns narrower than an equal share keep their
    natural width (water-filling); each of the others gets its floor, and what is left goes to
    them in proportion to the square roots of their natural widths (long prose gets more than
    a short list, not all of it)."""
    widths = list(natural)
    left = list(range(len(natural)))
    while left:
        fits = [i for i in left if natural[i] <= room / len(left)]
        if not fits:
            break
        room -= sum(natural[i] for i in fits)
        left = [i for i in left if i not in fits]
    extra = max(0, room - sum(floors[i] for i in left))
    total = sum(natural[i] ** 0.5 for i in left)
    for i in left:
        widths[i] = min(natural[i], floors[i] + int(extra * natural[i] ** 0.5 / total))
    return widths


def paragraph(text: str, columns: int | None = None) -> str:
    """``text`` wrapped to ``columns`` (default ``width()``) characters."""
    import textwrap

    return textwrap.fill(text, columns or width(), break_on_hyphens=False)


def fitted(rows: list[list], headers: list[str], columns: int | None = None) -> str:
    """``rows`` as a GitHub-style table at most ``columns`` (default ``width()``) characters
    wide: cells of the widest columns wrapped onto more lines."""
    from tabulate import tabulate

    columns = columns or width()
    cells = [[str(c) for c in r] for r in rows]
    # tabulate pads a header by 2: a column is as wide as its header + 2 at least
    natural = [max(len(h) + 2, *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    room = columns - (3 * len(headers) + 1)  # "| a | b |": 3 characters per column, plus 1
    kwargs = {}
    if sum(natural) > room:
        # a column is never narrower than MIN_COLUMN, nor than a word of its header
        floors = [min(n, max(MIN_COLUMN, *(len(w) + 2 for w in h.split())))
                  for n, h in zip(natural, headers)]
        widths = column_widths(natural, room, floors)
        kwargs = {"maxcolwidths": widths,
                  "maxheadercolwidths": [max(1, w - 2) for w in widths]}
    return tabulate(cells, headers=headers, tablefmt="github", disable_numparse=True, **kwargs)
