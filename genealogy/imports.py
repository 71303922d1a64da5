"""Import a whole genealogy from CSV, and the rows of the matching CSV export.

The file has a header and the columns `number,sponsor_number,name,email,joined,status` in any
order (other columns, such as the export's `level`, are ignored), and optionally
`placement_parent,placement_leg` for a binary or matrix plan's placement tree
(`genealogy.placement.imports`). `sponsor_number` empty or the
house's number means the house; a sponsor may be in the file (before or after their recruits)
or already in the database, and may not be terminated (sign-up refuses one too). Names the
team export wrote as '=X (`core.csv`) read back as =X. The import is all or nothing: every bad
row is reported with its line number and nothing is written. Good files are written in bulk
(COPY on PostgreSQL), already labelled (numpy, gapped labels), and one `renumber_tree()` gives
the rows that were there before the same numbering.

Imported people get an unusable password and an unverified email address: they sign in by
resetting their password (which verifies the address). They have no `Enrollment` record,
because they accepted the policies outside Ladder.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from core.bulk import next_ids, write_rows
from core.csv import read_spreadsheet_text
from core.periods import company_zone

from .demo import referral_codes
from .history import record_changes, to_epoch_us
from .labels import UNIVERSE, spread
from .models import COMPANY_TREE_ID, Distributor, DistributorStatus, TreeChangeKind
from .numbering import Numbering
from .placement.imports import COLUMNS as PLACEMENT_COLUMNS
from .placement.imports import check_placement, place_imported
from .placement.imports import read_cells as read_placement_cells
from .selectors import level_below
from .services import acquire_tree_lock, renumber_tree

COLUMNS = ("number", "sponsor_number", "name", "email", "joined", "status")
EXPORT_COLUMNS = (*COLUMNS, "level")
STATUSES = {choice.value for choice in DistributorStatus}
MAX_NAME_LENGTH = User._meta.get_field("name").max_length
MAX_NUMBER = 2**63 - 1
LOOKUP_CHUNK = 5_000


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass
class ParsedRows:
    """The good-looking rows of a file, column by column (lists of equal length)."""

    lines: list[int] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    sponsor_numbers: list[int | None] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    joined: list[dt.date] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    # The optional placement columns, as written (`genealogy.placement.imports` checks them).
    placement_parents: list[str] = field(default_factory=list)
    placement_legs: list[str] = field(default_factory=list)
    # Set when the rows are written: each row's distributor id and sponsor id.
    distributor_ids: np.ndarray | None = None
    sponsor_ids: np.ndarray | None = None


def _parse_number(text: str) -> int:
    value = int(text)
    if not 0 < value <= MAX_NUMBER:
        raise ValueError
    return value


def parse_rows(lines: Iterable[str], *, today: dt.date | None = None) -> tuple[ParsedRows, list]:
    """Read and check each row by itself (types, required fields). Returns rows and errors."""
    today = today or timezone.localdate()
    reader = csv.reader(lines)
    errors: list[RowError] = []
    parsed = ParsedRows()
    header = next(reader, None)
    if header is None:
        return parsed, [RowError(1, "the file is empty: a header line is required")]
    position = {name.strip().lower(): index for index, name in enumerate(header)}
    missing = [name for name in COLUMNS if name not in position]
    if missing:
        return parsed, [
            RowError(1, f"the header lacks the column(s) {', '.join(missing)}"),
        ]
    number_at, sponsor_at, name_at, email_at, joined_at, status_at = (
        position[name] for name in COLUMNS
    )
    width = max(position[name] for name in COLUMNS) + 1
    placement_at = tuple(position.get(name) for name in PLACEMENT_COLUMNS)
    for row in reader:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        # The team export writes a name like =X as '=X (core.csv): read it back as it was.
        row = [read_spreadsheet_text(cell) for cell in row]
        problems = []
        number_text = row[number_at].strip()
        number = sponsor_number = joined = None
        if not number_text:
            problems.append("missing number")
        else:
            try:
                number = _parse_number(number_text)
            except ValueError:
                problems.append(f"bad number {number_text!r}")
        sponsor_text = row[sponsor_at].strip()
        if sponsor_text:
            try:
                sponsor_number = _parse_number(sponsor_text)
            except ValueError:
                problems.append(f"bad sponsor_number {sponsor_text!r}")
        name = row[name_at].strip()
        if not name:
            problems.append("missing name")
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(f"name longer than {MAX_NAME_LENGTH} characters")
        email = row[email_at].strip().lower()
        if not email:
            problems.append("missing email")
        else:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(f"bad email {email!r}")
        joined_text = row[joined_at].strip()
        if not joined_text:
            problems.append("missing joined date")
        else:
            try:
                joined = dt.date.fromisoformat(joined_text)
            except ValueError:
                problems.append(f"bad joined date {joined_text!r} (use YYYY-MM-DD)")
            else:
                if joined > today:
                    problems.append(f"joined date {joined_text} is in the future")
        status = row[status_at].strip().lower()
        if not status:
            problems.append("missing status")
        elif status not in STATUSES:
            problems.append(f"bad status {status!r} (use {', '.join(sorted(STATUSES))})")
        if problems:
            errors.extend(RowError(line, problem) for problem in problems)
            continue
        parsed.lines.append(line)
        parsed.numbers.append(number)
        parsed.sponsor_numbers.append(sponsor_number)
        parsed.names.append(name)
        parsed.emails.append(email)
        parsed.joined.append(joined)
        parsed.statuses.append(status)
        placement_parent, placement_leg = read_placement_cells(row, placement_at)
        parsed.placement_parents.append(placement_parent)
        parsed.placement_legs.append(placement_leg)
    return parsed, errors


def _existing(queryset: models.QuerySet, lookup: str, values: list, column: str) -> set:
    """The `values` already in the database (`lookup` on `queryset`, returned as `column`).

    PostgreSQL: one COPY into a temporary table and one join. Elsewhere: chunked IN lookups.
    """
    if not values:
        return set()
    if connection.vendor != "postgresql":
        found = set()
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = values[start : start + LOOKUP_CHUNK]
            found.update(queryset.filter(**{f"{lookup}__in": chunk}).values_list(column, flat=True))
        return found
    kind = "bigint" if isinstance(values[0], int) else "text"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_values")
        cursor.execute(f"CREATE TEMP TABLE import_values (value {kind}) ON COMMIT DROP")
        with cursor.copy("COPY import_values (value) FROM STDIN") as copy:
            for start in range(0, len(values), 100_000):
                chunk = values[start : start + 100_000]
                copy.write("".join(f"{_copy_text(v)}\n" for v in chunk))
        cursor.execute("ANALYZE import_values")
        in_table = RawSQL("SELECT value FROM import_values", [])
        found = set(queryset.filter(**{f"{lookup}__in": in_table}).values_list(column, flat=True))
        cursor.execute("DROP TABLE import_values")
    return found


def _copy_text(value) -> str:
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def check_rows(parsed: ParsedRows) -> tuple[np.ndarray, list[RowError]]:
    """Check the rows against each other and the database (duplicates, sponsors, loops).

    Returns, for each row, the index of its sponsor's row in the file (-1 when the sponsor is
    the house or already in the database), and the errors.
    """
    errors: list[RowError] = []
    lines = parsed.lines
    n = len(lines)
    house = Distributor.objects.get(is_house=True)

    def duplicates_in_file(values: list, what: str) -> None:
        counts = Counter(values)
        first_line: dict = {}
        for line, value in zip(lines, values, strict=True):
            if counts[value] > 1:
                if value in first_line:
                    errors.append(
                        RowError(
                            line, f"duplicate {what} {value} (also on line {first_line[value]})"
                        )
                    )
                else:
                    first_line[value] = line
                    errors.append(RowError(line, f"duplicate {what} {value} (repeated below)"))

    duplicates_in_file(parsed.numbers, "number")
    duplicates_in_file(parsed.emails, "email")
    taken_numbers = _existing(Distributor.objects, "number", parsed.numbers, "number")
    taken_emails = _existing(
        User.objects.annotate(email_lower=Lower("email")),
        "email_lower",
        parsed.emails,
        "email_lower",
    )
    for line, number, email in zip(lines, parsed.numbers, parsed.emails, strict=True):
        if number in taken_numbers:
            errors.append(RowError(line, f"number {number} already belongs to a distributor"))
        if email in taken_emails:
            errors.append(RowError(line, f"email {email} already belongs to a user"))

    row_of_number = {number: index for index, number in enumerate(parsed.numbers)}
    outside = sorted(
        {s for s in parsed.sponsor_numbers if s is not None and s not in row_of_number}
    )
    known = _existing(Distributor.objects, "number", outside, "number")
    # As at sign-up, a terminated distributor sponsors nobody (in the file or the database).
    terminated = DistributorStatus.TERMINATED.value
    terminated_outside = _existing(
        Distributor.objects.filter(status=terminated), "number", outside, "number"
    )
    sponsor_row = np.full(n, -1, dtype=np.int64)
    for index, (line, sponsor_number) in enumerate(zip(lines, parsed.sponsor_numbers, strict=True)):
        if sponsor_number is None or sponsor_number == house.number:
            continue
        if sponsor_number in row_of_number:
            sponsor_row[index] = row_of_number[sponsor_number]
            if parsed.statuses[row_of_number[sponsor_number]] == terminated:
                where = f"line {lines[row_of_number[sponsor_number]]}"
                errors.append(RowError(line, _terminated_sponsor(sponsor_number, where)))
        elif sponsor_number not in known:
            errors.append(RowError(line, f"unknown sponsor_number {sponsor_number}"))
        elif sponsor_number in terminated_outside:
            errors.append(RowError(line, _terminated_sponsor(sponsor_number, "the database")))

    on_loop, below_loop = _loops(sponsor_row)
    for index in np.flatnonzero(on_loop).tolist():
        errors.append(
            RowError(lines[index], f"sponsor loop: {parsed.numbers[index]} is in its own upline")
        )
    for index in np.flatnonzero(below_loop).tolist():
        errors.append(RowError(lines[index], "the sponsor chain leads into a sponsor loop"))
    errors.sort(key=lambda error: error.line)
    return sponsor_row, errors


def _terminated_sponsor(number: int, where: str) -> str:
    return (
        f"sponsor_number {number} is terminated ({where}): a terminated distributor cannot "
        "sponsor anyone; give the row an active sponsor (or the house)"
    )


def _loops(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows on a sponsor loop, and rows whose chain leads into one (pointer doubling)."""
    n = len(parent)
    ancestor = parent.copy()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        has = ancestor >= 0
        if not has.any():
            break
        ancestor[has] = ancestor[ancestor[has]]
    looping = ancestor >= 0  # after >= n steps only nodes below or on a loop have an ancestor
    on_loop = np.zeros(n, dtype=bool)
    on_loop[ancestor[looping]] = True  # every loop node is some node's 2^k-th ancestor
    # Walk each loop once to mark the rest of its nodes.
    for start in np.flatnonzero(on_loop).tolist():
        node = parent[start]
        while not on_loop[node]:
            on_loop[node] = True
            node = parent[node]
    return on_loop, looping & ~on_loop


def import_genealogy(
    lines: Iterable[str],
    *,
    dry_run: bool = False,
    reason: str = "Imported from CSV",
    by=None,
    progress=lambda _message: None,
) -> ImportReport:
    """Check the whole file, then (unless `dry_run` or a row is bad) write everyone at once."""
    started = time.monotonic()
    report = ImportReport(dry_run=dry_run)

    def step(name: str) -> None:
        report.steps.append((name, time.monotonic() - started))
        progress(f"{name} ({time.monotonic() - started:.1f} s)")

    parsed, errors = parse_rows(lines)
    report.rows = len(parsed.lines) + len({e.line for e in errors if e.line > 1})
    step(f"{report.rows:,} rows read")
    with transaction.atomic():
        # Held to the end: nothing else renumbers or places while the import runs.
        acquire_tree_lock(wait=True)
        sponsor_row, more_errors = check_rows(parsed)
        placement_plan, placement_errors = check_placement(
            parsed.lines,
            parsed.numbers,
            parsed.sponsor_numbers,
            sponsor_row,
            parsed.placement_parents,
            parsed.placement_legs,
        )
        more_errors += [RowError(line, problem) for line, problem in placement_errors]
        errors = sorted(errors + more_errors, key=lambda error: error.line)
        step("rows checked against each other and the database")
        report.errors = errors
        if errors or dry_run or not parsed.lines:
            report.seconds = time.monotonic() - started
            return report
        report.created = _write(parsed, sponsor_row, reason=reason, by=by, step=step)
        place_imported(
            placement_plan,
            distributor_ids=parsed.distributor_ids,
            sponsor_ids=parsed.sponsor_ids,
            joined=parsed.joined,
            reason=reason,
            by=by,
        )
        step("placement tree")
    report.seconds = time.monotonic() - started
    return report


def _reserve_ids(model: type[models.Model], count: int) -> np.ndarray:
    """Draw `count` ids from the table's sequence (safe beside concurrent sign-ups)."""
    if connection.vendor != "postgresql":
        return next_ids(model, count)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT array_agg(nextval(pg_get_serial_sequence('{table}', 'id')))"  # noqa: S608
            " FROM generate_series(1, %s)",
            [count],
        )
        return np.sort(np.array(cursor.fetchone()[0], dtype=np.int64))


def _write(parsed: ParsedRows, sponsor_row: np.ndarray, *, reason: str, by, step) -> int:
    n = len(parsed.lines)
    # Ids follow the joining order, so siblings are ordered as they joined.
    joined_days = np.fromiter((d.toordinal() for d in parsed.joined), dtype=np.int64, count=n)
    order = np.lexsort((np.array(parsed.lines), joined_days))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    user_ids = _reserve_ids(User, n)[rank]
    distributor_ids = _reserve_ids(Distributor, n)[rank]
    outside = {
        s for s, r in zip(parsed.sponsor_numbers, sponsor_row.tolist(), strict=True) if r < 0
    }
    house = Distributor.objects.get(is_house=True)
    sponsor_by_number = dict(
        Distributor.objects.filter(number__in=[s for s in outside if s is not None]).values_list(
            "number", "id"
        )
    )
    sponsor_ids = np.where(
        sponsor_row >= 0,
        distributor_ids[np.maximum(sponsor_row, 0)],
        [sponsor_by_number.get(s, house.pk) for s in parsed.sponsor_numbers],
    )
    parsed.distributor_ids, parsed.sponsor_ids = distributor_ids, sponsor_ids
    now = timezone.now()
    noon = dt.time(12)
    noon_of = {d: timezone.make_aware(dt.datetime.combine(d, noon)) for d in set(parsed.joined)}
    joined_at = [noon_of[d] for d in parsed.joined]
    unusable = make_password(None)
    numbering = _numbering_with(distributor_ids, sponsor_ids)
    position = np.searchsorted(numbering.ids, distributor_ids)
    step("ids reserved, tree numbered")

    write_rows(
        User,
        ["id", "password", "is_superuser", "email", "name", "is_staff", "is_active", "date_joined"],
        {
            "id": user_ids,
            "password": [unusable] * n,
            "is_superuser": [False] * n,
            "email": parsed.emails,
            "name": parsed.names,
            "is_staff": [False] * n,
            "is_active": [True] * n,
            "date_joined": joined_at,
        },
    )
    step("users written")
    write_rows(
        EmailAddress,
        ["user_id", "email", "verified", "primary"],
        {
            "user_id": user_ids,
            "email": parsed.emails,
            "verified": [False] * n,
            "primary": [True] * n,
        },
    )
    step("email addresses written")
    write_rows(
        Distributor,
        [
            "id",
            "user_id",
            "number",
            "referral_code",
            "sponsor_id",
            "status",
            "joined_on",
            "country",
            "phone",
            "share_phone_with_team",
            "is_house",
            "created_at",
            "parent_id",
            "placed_at",
            "lft",
            "rght",
            "tree_id",
            "level",
            "descendants",
        ],
        {
            "id": distributor_ids,
            "user_id": user_ids,
            "number": parsed.numbers,
            "referral_code": _fresh_referral_codes(n),
            "sponsor_id": sponsor_ids,
            "status": parsed.statuses,
            "joined_on": parsed.joined,
            "country": [""] * n,
            "phone": [""] * n,
            "share_phone_with_team": [False] * n,
            "is_house": [False] * n,
            "created_at": [now] * n,
            "parent_id": sponsor_ids,
            "placed_at": [now] * n,
            "lft": numbering.lft[position],
            "rght": numbering.rght[position],
            "tree_id": np.full(n, COMPANY_TREE_ID, dtype=np.int64),
            "level": numbering.level[position],
            "descendants": numbering.descendants[position],
        },
    )
    step("distributors written")
    # Each person is in the tree from the start of the day they joined (company time zone), so
    # a migrated company's past months include them.
    zone = company_zone()
    start_us = {
        d: to_epoch_us(dt.datetime.combine(d, dt.time(0), tzinfo=zone)) for d in set(parsed.joined)
    }
    record_changes(
        {
            "at": now,
            "by_id": None if by is None else by.pk,
            "kind": TreeChangeKind.IMPORT,
            "distributor_id": distributor_ids,
            "new_parent_id": np.asarray(sponsor_ids, dtype=np.int64),
            "effective_at": np.fromiter(
                (start_us[d] for d in parsed.joined), dtype=np.int64, count=n
            ),
            "reason": reason,
        }
    )
    step("audit written")
    # The new rows are written placed already; the renumber writes the same numbering to the
    # rows that were there before (in an empty company, only the house).
    renumber_tree(numbering=numbering)
    step("everyone placed (renumber)")
    return n


def _numbering_with(new_ids: np.ndarray, new_sponsor_ids: np.ndarray) -> Numbering:
    """The numbering of the whole company once the new rows are in (what a renumber writes):
    gapped labels (`genealogy.labels.spread`); placed children keep their order, the new and
    the waiting come after them in id order."""
    existing = np.array(
        Distributor.objects.order_by("id").values_list(
            "id", "sponsor_id", "lft", "tree_id", "placed_at"
        ),
        dtype=object,
    ).reshape(-1, 5)
    existing_ids = existing[:, 0].astype(np.int64)
    existing_sponsors = np.array([-1 if s is None else s for s in existing[:, 1]], dtype=np.int64)
    placed = (existing[:, 3] == COMPANY_TREE_ID) & np.array(
        [p is not None for p in existing[:, 4]], dtype=bool
    )
    existing_key = np.where(placed, existing[:, 2].astype(np.int64), UNIVERSE + existing_ids)
    new_ids = np.asarray(new_ids, dtype=np.int64)
    return spread(
        np.r_[existing_ids, new_ids],
        np.r_[existing_sponsors, np.asarray(new_sponsor_ids, dtype=np.int64)],
        order_key=np.r_[existing_key, UNIVERSE + new_ids],
    )


def _fresh_referral_codes(count: int) -> list[str]:
    """Unique codes drawn like the demo's, none of them already in use."""
    rng = np.random.default_rng()
    taken = set(Distributor.objects.values_list("referral_code", flat=True))
    codes: list[str] = []
    while len(codes) < count:
        drawn = referral_codes(count - len(codes) + len(taken) // 10 + 10, rng)
        seen = set(codes)
        codes.extend(c for c in drawn if c not in taken and c not in seen)
    return codes[:count]


def rows_for_export(
    queryset: models.QuerySet[Distributor], *, relative_to: Distributor | None = None
) -> Iterator[list[str]]:
    """The CSV rows (no header; see `EXPORT_COLUMNS`) for `queryset`, in its order.

    The file reads back with `import_genealogy` (which ignores `level`). `level` is the depth
    below `relative_to` as the team list shows it (`genealogy.selectors.level_below`), or
    below the house when it is None.
    """
    values = queryset.values_list(
        "number",
        "sponsor__number",
        "user__name",
        "user__email",
        "joined_on",
        "status",
        "level",
        "placed_at",
        "sponsor_id",
    )
    for row in values.iterator(chunk_size=2_000):
        number, sponsor_number, name, email, joined, status, level, placed_at, sponsor_id = row
        if relative_to is not None:
            level = level_below(
                relative_to, level=level, is_placed=placed_at is not None, sponsor_id=sponsor_id
            )
        yield [
            str(number),
            "" if sponsor_number is None else str(sponsor_number),
            name,
            email,
            joined.isoformat(),
            status,
            str(level),
        ]
