"""Every management command of the project fails clearly on bad input: a closed period, a bad
month, a missing or unreadable file, a file that is not UTF-8, someone who does not exist. Each
ends in one `CommandError` (exit code 1, or argparse's 2), never a traceback."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from commissions.models import CommissionPeriod
from core.periods import Period
from tests.factories import closed_period_with_results

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "demo.yaml"
CLOSED = "2025-01"  # the `closed` fixture's month
NEXT_YEAR = str(Period.current().first_day.year + 1)
MISSING = "/nonexistent/ladder/file.csv"
NOT_UTF8 = "{not_utf8}"  # replaced by the path of a Latin-1 file, whose line 3 is not UTF-8
FOLDER = "{folder}"
ORDERS = "{orders}"  # an orders file whose distributor does not exist

# command -> [(arguments, words the one line says)]
BAD_INPUTS: dict[str, list[tuple[list[str], str]]] = {
    "run_commissions": [
        (["2026-13"], "no such period: 2026-13"),
        (["abc"], "a period is written YYYY-MM"),
        (["2026-02-30"], "no such day: 2026-02-30"),
        (["2026-03-10"], "for the week of 2026-03-10"),  # a day, but nothing is paid weekly
        ([CLOSED], f"{CLOSED} is closed"),
        ([CLOSED, "--close"], f"{CLOSED} is closed"),
    ],
    "export_payouts": [
        (["2026-13"], "no such period"),
        (["abc"], "YYYY-MM"),
        (["2026-02-30"], "no such day"),
        (["2026-03-09"], "There is no pay week of 2026-03-09"),
        (["2025-02"], "is not closed"),
        ([CLOSED, "--output", "/nonexistent/ladder/payouts.csv"], "does not exist"),
        ([CLOSED, "--output", FOLDER], "is a folder"),
    ],
    "load_plan": [
        ([MISSING], f"No such file: {MISSING}"),
        ([FOLDER], "is a folder"),
        ([NOT_UTF8], "is not UTF-8: line 3, byte 8"),
        ([str(PLAN), "--effective-from", "2026-13"], "no such period"),
        ([str(PLAN), "--effective-from", CLOSED], "already closed"),
    ],
    "compute_compliance_flags": [
        (["2026-13"], "no such period"),
        (["abc"], "YYYY-MM"),
        ([f"{NEXT_YEAR}-01"], "has not started yet"),
    ],
    "generate_income_disclosure": [
        (["abc"], "not a whole number"),
        (["0"], "a year is written YYYY"),
        (["99999"], "a year is written YYYY"),
        ([NEXT_YEAR], "has no closed commission period"),
    ],
    "import_genealogy": [
        ([MISSING], "No such file"),
        ([FOLDER], "No such file"),
        ([NOT_UTF8], "is not UTF-8: line 3, byte 8"),
        ([NOT_UTF8, "--by", "nobody@example.org"], "No staff member with the email"),
    ],
    "load_catalog": [
        ([MISSING], f"No such file: {MISSING}"),
        ([FOLDER], "is a folder"),
        ([NOT_UTF8], "is not UTF-8: line 3, byte 8"),
    ],
    "import_orders": [
        ([MISSING], f"No such file: {MISSING}"),
        ([FOLDER], "is a folder"),
        ([NOT_UTF8], "is not UTF-8: line 3, byte 8"),
        ([ORDERS], "no distributor has the number 99999999"),
    ],
    "seed_demo": [
        (["--distributors", "5"], "at least 10"),
        (["--distributors", "abc"], "not a whole number"),
        (["--seed", "-1"], "cannot be negative"),
        (["--order-months", "-2"], "cannot be negative"),
        (["--commission-months", "-1"], "cannot be negative"),
    ],
    "seed_orders": [
        (["--months", "0"], "at least 1"),
        (["--lines-per-distributor", "nan"], "above 0"),
        (["--seed", "-5"], "cannot be negative"),
    ],
    "check_genealogy": [(["--fix", "extra"], "unrecognized arguments")],
    "check_volume_summaries": [
        (["--period", "abc"], "a period is written YYYY-MM"),
        (["--period", "2026-13"], "no such period"),
        (["--fix", "extra"], "unrecognized arguments"),
    ],
    "demo_totp": [(["--email", "nobody@example.org"], "no authenticator app")],
    "bench_commissions": [
        (["--period", "abc"], "YYYY-MM"),
        (["--size", "0"], "at least 1"),
        (["--lines-per-distributor", "-1"], "above 0"),
    ],
    "bench_disclosure": [(["--year", "20x6"], "not a whole number")],
    "bench_genealogy": [
        (["--size", "-10"], "at least 1"),
        (["--threads", "0"], "at least 1"),
        (["--size", "10", "--write-csv", "/nonexistent/ladder/import.csv"], "Cannot write"),
    ],
    "bench_orders": [(["--samples", "0"], "at least 1")],
    "bench_placement": [(["--seed", "-5"], "cannot be negative")],
    "build_placement_tree": [
        (["--batch", "0"], "at least 1"),
        (["--batch", "many"], "invalid int value"),
    ],
    "bench_dashboard": [
        (["--users", "0"], "at least 1"),
        (["--disclosure-year", "26"], "a year is written YYYY"),
    ],
    "bench_engine": [
        (["--size", "0"], "at least 1"),
        (["--size", "ten"], "invalid int value"),
        (["--seed", "-1"], "cannot be negative"),
    ],
    "simulate_plan": [
        (["--period", CLOSED], "the following arguments are required: --version"),
        (["--version", "x", "--period", CLOSED], "invalid int value"),
        (["--version", "1", "--period", "abc"], "a period is written YYYY-MM"),
        (["--version", "1", "--period", "2026-13"], "no such period: 2026-13"),
        (["--version", "1", "--period", "2025-02"], "2025-02 is not closed"),
        (["--version", "999999", "--period", CLOSED], "No plan version #999999"),
        (["--version", "1", "--period", CLOSED, "--csv", FOLDER], "is a folder"),
        (
            ["--version", "1", "--period", CLOSED, "--csv", "/nonexistent/ladder/s.csv"],
            "does not exist",
        ),
    ],
}
CASES = [
    pytest.param(
        command,
        arguments,
        expected,
        id=f"{command} {' '.join(arguments)}",
        # run_commissions refuses to run inside a transaction: commit its test's data.
        marks=pytest.mark.django_db(transaction=command == "run_commissions"),
    )
    for command, cases in BAD_INPUTS.items()
    for arguments, expected in cases
]


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    not_utf8 = tmp_path / "latin1.csv"
    not_utf8.write_bytes("sku,name\nA-1,Plain\nB-2,Caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "external_number,distributor_number,customer_email,sku,quantity,paid_at,purpose\n"
        "X-1,99999999,,VIT-100,1,2025-01-10T12:00:00,personal\n",
        encoding="utf-8",
    )
    return {NOT_UTF8: str(not_utf8), FOLDER: str(tmp_path), ORDERS: str(orders)}


@pytest.fixture
def closed():
    """January 2025 closed, February 2025 open."""
    closed_period_with_results(dt.date(2025, 1, 1), {})
    CommissionPeriod.objects.create(month=dt.date(2025, 2, 1))


def project_commands() -> set[str]:
    return {
        name
        for name, app in get_commands().items()
        if not app.startswith("django") and (ROOT / app.replace(".", "/")).is_dir()
    }


def test_every_command_of_the_project_has_its_bad_inputs_tested():
    assert project_commands() == set(BAD_INPUTS)


@pytest.mark.parametrize(("command", "arguments", "expected"), CASES)
def test_bad_input_is_one_clear_command_error(closed, files, command, arguments, expected):
    arguments = [files.get(argument, argument) for argument in arguments]

    with pytest.raises(CommandError) as error:
        call_command(command, *arguments)

    message = str(error.value)
    assert expected in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    "arguments",
    [
        ["run_commissions", "2026-13"],
        ["import_genealogy", NOT_UTF8],
        ["load_catalog", MISSING],
        ["generate_income_disclosure", "abc"],
    ],
    ids=["bad month", "not UTF-8", "missing file", "not a year"],
)
def test_on_the_command_line_a_bad_input_exits_non_zero_without_a_traceback(files, arguments):
    arguments = [files.get(argument, argument) for argument in arguments]

    finished = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=False,
    )

    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr
    last_line = finished.stderr.strip().splitlines()[-1]
    assert last_line.startswith(("CommandError: ", "manage.py ")), finished.stderr
