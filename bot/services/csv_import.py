"""Importing a CSV all rows or none: every bad row is named, and nothing is written unless
every row is good. Shared by `kefu import-orders` and `kefu import-sales`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.i18n import N_
from bot.services.errors import InvalidInput, KefuError

Row = TypeVar("Row")


@dataclass(frozen=True)
class Problem:
    """Why one line of an import was refused; `message` is a msgid with `params`."""

    line: int
    message: str
    params: dict[str, Any] = field(default_factory=dict)


class ImportRejected(KefuError):
    """At least one row is bad, so nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(N_("Nothing was imported: %(count)s problem(s)."), count=len(problems))
        self.problems = problems


def read_rows(
    text: str,
    *,
    headers: Sequence[Sequence[str]],
    check: Callable[[int, list[str]], Row],
) -> list[Row]:
    """Each data row of a CSV through `check(line, cells)`, or ImportRejected listing the bad.

    The first line must be one of `headers` (the first listed is the one the error names);
    `check` raises InvalidInput for a bad row, and rows are passed with as many cells as the
    header has (a row of another width is refused here).
    """
    # newline="" as the csv module asks: otherwise a lone "\r" (old Mac / Excel line ends)
    # makes the reader raise instead of reading the next row.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    found = [cell.strip().lower() for cell in header] if header is not None else None
    if found is None or all(found != list(wanted) for wanted in headers):
        raise ImportRejected(
            [
                Problem(
                    1,
                    N_("The first line must be the header %(header)s."),
                    {"header": ",".join(headers[0])},
                )
            ]
        )
    rows: list[Row] = []
    problems: list[Problem] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, e.g. at the end of the file
        if len(cells) != len(found):
            problems.append(
                Problem(
                    reader.line_num,
                    N_("Expected %(expected)s columns (%(header)s), found %(count)s."),
                    {"expected": len(found), "header": ",".join(found), "count": len(cells)},
                )
            )
            continue
        try:
            rows.append(check(reader.line_num, cells))
        except InvalidInput as bad:
            problems.append(Problem(reader.line_num, bad.message, bad.params))
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected([Problem(1, N_("The file has no rows after the header."))])
    return rows
