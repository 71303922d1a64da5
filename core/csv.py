"""The project's one CSV module: every CSV Ladder writes goes through `safe_csv_writer`, and
every CSV file it reads is opened with `open_csv` (UTF-8, with a clear error naming the line).

Formula safety: a spreadsheet runs a cell that starts with one of `FORMULA_STARTS` as a formula
(`=HYPERLINK(...)`, `@SUM(...)`, `+cmd|...`), so the writer prefixes such text cells with a `'`,
which spreadsheets show as text. The rule is the payout CSV's: it applies to text (`str`)
cells, whatever they look like ("-5.00" typed in as a name stays text), and to anything else
written as text (a date, a phone number object); numbers are written as numbers (`int`,
`Decimal`), so a negative amount stays -5.00. Write money as `Decimal`, not as pre-formatted
text.

`tests/test_csv_safety.py` fails when a module writes CSV without this writer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

# First characters that make a spreadsheet read a cell as a formula. The payout form refuses
# an account that starts with one; the writer neutralizes every text cell that does.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ' keeps a cell that starts like a formula
    from being run."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def safe_cell(value: Any) -> Any:
    """A cell as written: numbers as they are, None empty, anything else as text neutralized by
    `spreadsheet_text` (a date, a phone number object: what `csv` would write, made safe)."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    return spreadsheet_text(str(value))


def read_spreadsheet_text(text: str) -> str:
    """The text `spreadsheet_text` was given (imports read back what Ladder exported)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeWriter:
    """`csv.writer` whose every row is neutralized cell by cell."""

    def __init__(self, file: Any, **options: Any) -> None:
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """`csv.DictWriter` whose header and values are neutralized cell by cell."""

    def __init__(self, file: Any, fieldnames: Sequence[str], **options: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = safe_csv_writer(file, **options)

    def writeheader(self) -> Any:
        return self._writer.writerow(self.fieldnames)

    def writerow(self, row: dict[str, Any]) -> Any:
        return self._writer.writerow([row.get(name, "") for name in self.fieldnames])

    def writerows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_csv_writer(file: Any, **options: Any) -> SafeWriter:
    """The writer every CSV of the project goes through (`csv.writer`'s options).

    Lines end with \\r\\n (RFC 4180, the `csv` default): with \\n alone the `csv` module
    leaves a cell holding a carriage return unquoted, which breaks the row."""
    if options.get("lineterminator", "\r\n") != "\r\n":
        raise ValueError("core.csv writes lines ending with \\r\\n (see safe_csv_writer)")
    return SafeWriter(file, **options)


def safe_dict_writer(file: Any, fieldnames: Sequence[str], **options: Any) -> SafeDictWriter:
    return SafeDictWriter(file, fieldnames, **options)


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows (the header first) as one CSV text."""
    buffer = io.StringIO()
    safe_csv_writer(buffer).writerows(rows)
    return buffer.getvalue()


class _Echo:
    """A file whose `write` returns what it is given (so a writer's row is its return)."""

    def write(self, value: str) -> str:
        return value


def stream_csv(rows: Iterable[Iterable[Any]], **options: Any) -> Iterator[str]:
    """Rows (the header first) as CSV lines, one at a time (for a `StreamingHttpResponse`)."""
    writer = safe_csv_writer(_Echo(), **options)
    for row in rows:
        yield writer.writerow(row)


# --- Reading -----------------------------------------------------------------------------------


class NotUtf8Error(ValueError):
    """A file that is not UTF-8; the message names the line and the byte."""


def first_undecodable(path: str | Path) -> tuple[int, int, int, int] | None:
    """(line, byte in the line, byte in the file, the byte's value) where UTF-8 decoding of
    `path` first fails (all 1-based), or None when the whole file decodes."""
    offset = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                # A UTF-8 sequence never holds the byte \n, so a line decodes on its own.
                return number, error.start + 1, offset + error.start + 1, line[error.start]
            offset += len(line)
    return None


def not_utf8_message(path: str | Path) -> str:
    found = first_undecodable(path)
    if found is None:
        return f"{path} is not UTF-8: save it as UTF-8 (CSV UTF-8) and try again."
    line, column, byte, value = found
    return (
        f"{path} is not UTF-8: line {line}, byte {column} of the line (byte {byte} of the file, "
        f"0x{value:02x}) cannot be read; save the file as UTF-8 (CSV UTF-8) and try again."
    )


def utf8_lines(path: str | Path) -> Iterator[str]:
    """The lines of a UTF-8 file (a byte-order mark skipped, line endings kept as in the file,
    ready for `csv.reader`); raises `NotUtf8Error` naming the first line that is not UTF-8.

    Raises `OSError` (FileNotFoundError, IsADirectoryError...) at once when the file cannot be
    opened (see `open_text_error`)."""
    handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed by _lines)
    return _lines(handle, path)


def _lines(handle: TextIO, path: str | Path) -> Iterator[str]:
    with handle:
        try:
            yield from handle
        except UnicodeDecodeError:
            raise NotUtf8Error(not_utf8_message(path)) from None


def read_utf8_text(path: str | Path) -> str:
    """The whole text of a UTF-8 file; raises `NotUtf8Error` naming the line (see above)."""
    return "".join(utf8_lines(path))


def open_text_error(path: str | Path, error: OSError) -> str:
    """One clear line for a file that cannot be opened."""
    if isinstance(error, FileNotFoundError):
        return f"No such file: {path}"
    if isinstance(error, IsADirectoryError):
        return f"{path} is a folder, not a file."
    return f"Cannot read {path}: {error.strerror or error}."
