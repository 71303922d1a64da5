"""Figures for the genealogy at one or more sizes. Prints, never asserts.

    manage.py bench_genealogy --size 1000
    manage.py bench_genealogy --sizes 1000,1000000

With --size the command uses the configured database. With --sizes (PostgreSQL) each size gets
a database of its own, named after the configured one (`ladder_1000`, `ladder_1000000`),
created and migrated when missing; the company is built with `genealogy.demo.seed_company`
when the database has only the house, or reused when it already has about that many people.
At each size it measures sign-ups, sign-up → placed-tree latency under sustained sign-ups
(threads signing up while a placer runs on the real schedule window), placing batches of 1,000
waiting people (median, rows written), the team pages at the house, a middle node and a leaf,
moving a leg of about 1,000 people there and back, a full renumber, check_genealogy, and 100
concurrent sign-ups under one sponsor; then the placement tree's figures
(`genealogy.bench_placement`). With two sizes or more it ends with a table of
both and the ratios of the largest to the smallest. The people it signs up stay (placed).

Tasks never reach the real broker: the command points Celery at an in-memory transport and
places waiting people itself.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections, transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.client_sessions import log_in_with_mfa
from accounts.models import User
from config.celery import app as celery_app
from core.arguments import non_negative_int, positive_int, positive_number
from core.bulk import autovacuum_is_off, vacuum_and_analyze
from core.csv import safe_csv_writer
from genealogy import selectors
from genealogy.bench_placement import run_placement_bench
from genealogy.demo import FIRST_NAMES, LAST_NAMES, build_sponsor_links, seed_company
from genealogy.downline_counts import FOLD_WINDOW_SECONDS
from genealogy.imports import COLUMNS as IMPORT_COLUMNS
from genealogy.integrity import check_tree
from genealogy.models import Distributor, DistributorStatus
from genealogy.services import (
    PLACEMENT_DELAY_SECONDS,
    PLACEMENT_WINDOW_SECONDS,
    create_distributor,
    fold_downline_counts,
    move_distributor,
    place_pending_distributors,
    renumber_tree,
)
from genealogy.tasks import LOCKED_RETRY_SECONDS

PASSWORD = make_password("bench-password-not-used")  # noqa: S106 - hashed once, reused


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def timed(function: Callable, repeat: int = 5) -> tuple[float, object]:
    """Median wall time in ms over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def sign_up(sponsor_id: int) -> float:
    """One sign-up as the product does it (user, then distributor), in its own transaction."""
    started = time.perf_counter()
    with transaction.atomic():
        user = User.objects.create(
            email=f"bench-{uuid.uuid4().hex}@bench.invalid", name="Bench Person", password=PASSWORD
        )
        create_distributor(user=user, sponsor=Distributor(pk=sponsor_id), country="US")
    return (time.perf_counter() - started) * 1000


def use_database(name: str, stdout, *, fresh: bool = False) -> None:
    """Point the default connection (and every thread's) at database `name`, created and
    migrated when missing; `fresh` drops it first (small sizes: a run adds thousands of
    people, which would no longer be the size asked for)."""
    connection.close()
    # The maintenance database (as Django's test runner does): the configured one need not exist.
    with connection._nodb_cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        missing = cursor.fetchone() is None
        if missing:  # autocommit: CREATE DATABASE cannot run in a transaction
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    connections.settings[DEFAULT_DB_ALIAS]["NAME"] = name
    connection.settings_dict["NAME"] = name
    if missing:
        stdout.write(f"  created database {name}")
    call_command("migrate", verbosity=0, interactive=False)


class Command(BaseCommand):
    help = "Measure the genealogy at --size distributors (prints figures, never asserts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--size", type=positive_int, default=10_000)
        parser.add_argument(
            "--sizes",
            default="",
            metavar="N,N",
            help="Sizes to measure in one run, each in a database of its own (PostgreSQL).",
        )
        parser.add_argument(
            "--batches", type=positive_int, default=5, help="placement batches of 1,000 to time"
        )
        parser.add_argument("--seed", type=non_negative_int, default=1)
        parser.add_argument(
            "--signups", type=positive_int, default=300, help="for the latency figure"
        )
        parser.add_argument("--sustained-seconds", type=positive_number, default=60.0)
        parser.add_argument("--threads", type=positive_int, default=4)
        parser.add_argument(
            "--write-csv",
            default="",
            metavar="PATH",
            help="Only write a synthetic import file of --size rows (for import_genealogy).",
        )

    def handle(self, *args, size: int, seed: int, signups: int, **options) -> None:
        if options["write_csv"]:
            self.write_csv(options["write_csv"], size, seed)
            return
        celery_app.conf.broker_url = "memory://"  # never send tasks to a real worker
        self.options = options
        if not options["sizes"]:
            self.measure_size(size, seed, signups)
            self.print_table(size)
            return
        try:
            sizes = [int(part) for part in options["sizes"].split(",") if part.strip()]
        except ValueError as error:
            raise CommandError("--sizes takes whole numbers separated by commas.") from error
        if not sizes or min(sizes) < 1:
            raise CommandError("--sizes takes whole numbers separated by commas.")
        if connection.vendor != "postgresql":
            raise CommandError("--sizes needs PostgreSQL (a database per size).")
        base = connections.settings[DEFAULT_DB_ALIAS]["NAME"]
        results: dict[int, list[tuple[str, str]]] = {}
        self.figures: dict[int, dict[str, float]] = {}
        for each in sizes:
            use_database(f"{base}_{each}", self.stdout, fresh=each <= 100_000)
            self.measure_size(each, seed, signups)
            self.print_table(each)
            results[each] = self.rows
            self.figures[each] = self.size_figures
        self.print_comparison(sizes, results)

    def measure_size(self, size: int, seed: int, signups: int) -> None:
        self.rows: list[tuple[str, str]] = []
        self.size_figures: dict[str, float] = {}
        self.rng = np.random.default_rng(seed)
        self.stdout.write(f"== bench_genealogy at {size:,} ({connection.settings_dict['NAME']})")
        self.ensure_company(size, seed)
        self.active_ids = np.array(
            Distributor.objects.filter(
                status=DistributorStatus.ACTIVE, placed_at__isnull=False
            ).values_list("id", flat=True)
        )
        if autovacuum_is_off():
            self.stdout.write(
                "  PostgreSQL's autovacuum is off here: the tables are vacuumed before each "
                "phase, as autovacuum would keep them"
            )
        for phase in (
            lambda: self.measure_sign_ups(signups),
            lambda: self.measure_sustained(
                self.options["sustained_seconds"], self.options["threads"]
            ),
            lambda: self.measure_placement(self.options["batches"]),
            self.measure_pages,
            self.measure_move,
            self.measure_renumber_and_check,
            self.measure_concurrent_under_one_sponsor,
        ):
            vacuum_and_analyze(User, Distributor)
            phase()
        vacuum_and_analyze(User, Distributor)
        run_placement_bench(self.stdout, size)

    def write_csv(self, path: str, size: int, seed: int) -> None:
        """A company of `size` in import format, rows shuffled (sponsors after recruits too)."""
        started = time.perf_counter()
        rng = np.random.default_rng(seed)
        sponsor_index = build_sponsor_links(size, rng)  # 0 is the house
        numbers = 20_000_001 + np.arange(size, dtype=np.int64)
        sponsor_numbers = np.where(sponsor_index == 0, 0, numbers[np.maximum(sponsor_index, 1) - 1])
        first = np.array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), size)]
        last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), size)]
        days = np.sort(rng.integers(0, 700, size))
        start = dt.date(2024, 1, 1)
        statuses = np.array(["active", "active", "active", "inactive", "terminated"])
        status = statuses[rng.integers(0, len(statuses), size)]
        try:
            out = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror or error}.") from error
        with out:
            writer = safe_csv_writer(out)
            writer.writerow(IMPORT_COLUMNS)
            for i in rng.permutation(size).tolist():
                writer.writerow(
                    [
                        int(numbers[i]),
                        "" if sponsor_numbers[i] == 0 else int(sponsor_numbers[i]),
                        f"{first[i]} {last[i]}",
                        f"{first[i].lower()}.{last[i].lower()}.{numbers[i]}@example.net",
                        (start + dt.timedelta(days=int(days[i]))).isoformat(),
                        str(status[i]),
                    ]
                )
        self.stdout.write(
            f"Wrote {size:,} rows to {path} in {time.perf_counter() - started:.1f} s."
        )

    def add(self, what: str, figure: str) -> None:
        self.rows.append((what, figure))
        self.stdout.write(f"  {what}: {figure}")

    # --- The company ------------------------------------------------------------------------

    def ensure_company(self, size: int, seed: int) -> None:
        existing = Distributor.objects.filter(is_house=False).count()
        if existing == 0:
            started = time.perf_counter()
            seed_company(distributors=size, seed=seed, progress=lambda m: self.stdout.write(m))
            self.add("seed_company", f"{time.perf_counter() - started:.1f} s")
        elif abs(existing - size) > max(0.1 * size, 500):
            raise CommandError(
                f"The database has {existing:,} distributors, not about {size:,}: "
                "use an empty database (only the house) or the matching --size."
            )
        place_pending_distributors()
        self.size = Distributor.objects.count()
        self.add("distributors", f"{self.size:,}")

    def random_sponsors(self, count: int) -> list[int]:
        return self.rng.choice(self.active_ids, size=count).tolist()

    # --- Sign-ups -----------------------------------------------------------------------------

    def measure_sign_ups(self, count: int) -> None:
        latencies = [sign_up(s) for s in self.random_sponsors(count)]
        self.add(
            f"sign-up latency ({count} sequential, random sponsors)",
            f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms",
        )
        place_pending_distributors()

    def measure_sustained(self, seconds: float, threads: int) -> None:
        """Sign-ups in threads for `seconds` (or until the company has doubled) while a placer
        runs on the real schedule (`PLACEMENT_WINDOW_SECONDS` windows, each placed
        `PLACEMENT_DELAY_SECONDS` after it ends, as the outbox task does): the latency from
        sign-up to being in the placed tree, and the batches' times."""
        stop_signing, stop_placing = threading.Event(), threading.Event()
        done: list[int] = []
        quota = max(1, self.size // threads)
        placements: list[float] = []
        fold_times: list[float] = []
        phase_started = timezone.now()

        def worker(index: int) -> None:
            rng = np.random.default_rng(index)
            total = 0
            try:
                while not stop_signing.is_set() and total < quota:
                    sign_up(int(rng.choice(self.active_ids)))
                    total += 1
            finally:
                done.append(total)
                connection.close()

        def placer() -> None:
            window, delay = PLACEMENT_WINDOW_SECONDS, PLACEMENT_DELAY_SECONDS
            try:
                while True:
                    now = time.time()
                    next_run = (now // window + 1) * window + delay
                    if stop_placing.wait(max(0.0, next_run - now)):
                        return
                    started = time.perf_counter()
                    while place_pending_distributors().method == "locked":
                        time.sleep(LOCKED_RETRY_SECONDS)  # as the task retries
                    placements.append((time.perf_counter() - started) * 1000)
            finally:
                connection.close()

        def folder() -> None:
            # The fold task's schedule: after each window of placements, and on a lock held by
            # a batch, again a second later (the task's retry).
            window = FOLD_WINDOW_SECONDS
            try:
                while True:
                    now = time.time()
                    next_run = (now // window + 1) * window + 1
                    if stop_placing.wait(max(0.0, next_run - now)):
                        return
                    started = time.perf_counter()
                    while fold_downline_counts().locked:
                        if stop_placing.wait(LOCKED_RETRY_SECONDS):
                            return
                    fold_times.append((time.perf_counter() - started) * 1000)
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads + 2) as pool:
            futures = [pool.submit(worker, i) for i in range(threads)]
            placing = pool.submit(placer)
            folding = pool.submit(folder)
            deadline = started + seconds
            while time.perf_counter() < deadline and not all(f.done() for f in futures):
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            stop_signing.set()
            for future in futures:
                future.result()
            # The placer keeps its schedule until everyone who signed up is placed.
            wait_until = time.perf_counter() + 30
            while (
                Distributor.objects.filter(placed_at__isnull=True).exists()
                and time.perf_counter() < wait_until
            ):
                time.sleep(0.2)
            stop_placing.set()
            placing.result()
            folding.result()
        latencies = [
            (placed - created).total_seconds()
            for created, placed in Distributor.objects.filter(
                created_at__gte=phase_started, placed_at__isnull=False
            ).values_list("created_at", "placed_at")
        ]
        unplaced = Distributor.objects.filter(placed_at__isnull=True).count()
        place_pending_distributors()
        per_minute = sum(done) * 60 / elapsed
        self.add(
            f"sustained sign-ups ({threads} threads, {sum(done):,} in {elapsed:.0f} s)",
            f"{per_minute:,.0f} per minute",
        )
        if latencies:
            self.size_figures["latency_max"] = max(latencies)
            self.add(
                "sign-up → in the placed tree under sustained sign-ups "
                f"({PLACEMENT_WINDOW_SECONDS} s windows + {PLACEMENT_DELAY_SECONDS} s)",
                f"p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
                f"max {max(latencies):.2f} s"
                + (f"; {unplaced} not placed 30 s after the end" if unplaced else ""),
            )
        if placements:
            self.add(
                "placement batch under sustained sign-ups",
                f"p50 {percentile(placements, 50):.0f} ms, max {max(placements):.0f} ms "
                f"({len(placements)} batches)",
            )
        if fold_times:
            self.add(
                f"count fold under sustained sign-ups (every {FOLD_WINDOW_SECONDS} s)",
                f"p50 {percentile(fold_times, 50):.0f} ms, max {max(fold_times):.0f} ms "
                f"({len(fold_times)} folds)",
            )

    def measure_placement(self, batches: int) -> None:
        def one(sponsor: int) -> float:
            try:
                return sign_up(sponsor)
            finally:
                connection.close()

        times, rows, folds, counts = [], [], [], []
        fold_downline_counts()  # what the sign-ups before left waiting
        for _ in range(batches):
            with ThreadPoolExecutor(max_workers=4) as pool:  # real sign-ups, four at a time
                list(pool.map(one, self.random_sponsors(1_000)))
            started = time.perf_counter()
            result = place_pending_distributors()
            times.append((time.perf_counter() - started) * 1000)
            rows.append(result.rows_written)
            # The uplines' counts: the fold the worker runs after the batch, timed apart.
            started = time.perf_counter()
            folded = fold_downline_counts().sponsor
            folds.append((time.perf_counter() - started) * 1000)
            counts.append(folded.counts_written if folded else 0)
        self.size_figures["placement_ms"] = statistics.median(times)
        self.size_figures["fold_ms"] = statistics.median(folds)
        self.add(
            f"place 1,000 waiting people ({result.method}; median of {batches} batches)",
            f"{statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f});"
            f" rows written per batch: median {statistics.median(rows):,.0f}, max {max(rows):,}",
        )
        self.add(
            "then the count fold of each batch (the worker's, after the batch)",
            f"{statistics.median(folds):.0f} ms median (max {max(folds):.0f});"
            f" uplines' counts written: median {statistics.median(counts):,.0f}",
        )

    # --- Team pages ---------------------------------------------------------------------------

    def pick_nodes(self) -> dict[str, Distributor]:
        placed = Distributor.objects.filter(placed_at__isnull=False, is_house=False)
        # A middle node: the largest team at about half the maximum depth.
        max_level = placed.order_by("-level").values_list("level", flat=True).first() or 1
        candidates = list(
            placed.filter(level=max(1, max_level // 2)).values_list("id", "descendants")[:5_000]
        )
        middle_id = max(candidates, key=lambda row: row[1])[0]
        leaf = placed.filter(descendants=0).order_by("-level").first()
        return {
            "house": Distributor.objects.select_related("user").get(is_house=True),
            "middle": Distributor.objects.select_related("user").get(pk=middle_id),
            "leaf": Distributor.objects.select_related("user").get(pk=leaf.pk),
        }

    def measure_pages(self) -> None:
        nodes = self.pick_nodes()
        staff = User.objects.filter(is_staff=True, distributor__isnull=True).first()
        if staff is None:
            staff = User.objects.create(
                email=f"bench-staff-{uuid.uuid4().hex[:6]}@bench.invalid",
                name="Bench Staff",
                is_staff=True,
            )
        try:
            reverse("team_list")
            use_client = True
        except NoReverseMatch:
            use_client = False
        for label, node in nodes.items():
            size = f"{node.downline_size:,} below"
            if use_client:
                self.measure_pages_with_client(label, size, node, staff)
            else:
                self.measure_pages_with_selectors(label, size, node)

    def measure_pages_with_client(self, label: str, size: str, node, staff) -> None:
        storages = {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(SECURE_SSL_REDIRECT=False, ALLOWED_HOSTS=["*"], STORAGES=storages):
            client = Client()
            if node.is_house:
                log_in_with_mfa(client, staff)  # staff powers need a session that passed MFA
            else:
                client.force_login(node.user)
            child = selectors.children_of(node).values_list("number", flat=True).first()
            member = child or node.number
            pages = {
                "tree page": reverse("team_home"),
                "expand (children + counts)": reverse("team_tree_children", args=[node.number]),
                "list, first page": reverse("team_list"),
                "stats": reverse("team_stats"),
                "member page": reverse("team_member", args=[member]),
            }
            for page, url in pages.items():
                ms, response = timed(lambda url=url: client.get(url), repeat=5)
                status = "" if response.status_code == 200 else f" (HTTP {response.status_code})"
                self.add(f"{page} at {label} ({size})", f"{ms:.0f} ms{status}")

    def measure_pages_with_selectors(self, label: str, size: str, node) -> None:
        checks = {
            "expand (children + counts)": lambda: list(selectors.children_of(node)[:50]),
            "list, first page": lambda: list(selectors.downline(node)[:50]),
            "stats": lambda: selectors.team_stats(node),
        }
        for page, function in checks.items():
            ms, _ = timed(function)
            self.add(f"{page} at {label} ({size}, selectors)", f"{ms:.0f} ms")

    # --- Moves, renumbering, checking ---------------------------------------------------------

    def measure_move(self) -> None:
        placed = Distributor.objects.filter(placed_at__isnull=False, is_house=False)
        # A leg of about 1,000 people (or the largest below that in a small company), moved
        # under someone outside it and back.
        wanted = min(1_000, max(2, self.size // 10))
        leg = (
            placed.filter(descendants__range=(wanted * 9 // 10, wanted * 11 // 10))
            .order_by("lft")
            .first()
        ) or placed.filter(descendants__lte=wanted).order_by("-descendants").first()
        target = None
        if leg is not None:
            for candidate in self.random_sponsors(50):
                row = Distributor.objects.get(pk=candidate)
                if row.pk != leg.sponsor_id and not (leg.lft <= row.lft <= leg.rght):
                    target = row
                    break
        if leg is None or target is None:
            self.add("move a leg", "skipped (no suitable leg)")
            return
        old_sponsor = Distributor.objects.get(pk=leg.sponsor_id)
        started = time.perf_counter()
        move_distributor(distributor=leg, new_sponsor=target, reason="benchmark", by=None)
        there = (time.perf_counter() - started) * 1000
        leg.refresh_from_db()
        started = time.perf_counter()
        move_distributor(distributor=leg, new_sponsor=old_sponsor, reason="benchmark", by=None)
        back = (time.perf_counter() - started) * 1000
        self.size_figures["move_ms"] = max(there, back)
        self.add(
            f"move a leg of {leg.downline_size + 1:,} across the tree and back",
            f"{there:.0f} ms there, {back:.0f} ms back",
        )

    def measure_renumber_and_check(self) -> None:
        started = time.perf_counter()
        result = renumber_tree()
        self.add(
            "renumber_tree (full, from sponsor links)",
            f"{time.perf_counter() - started:.1f} s ({result.changed:,} rows changed)",
        )
        report = check_tree()
        self.size_figures["check_s"] = report.seconds
        self.add(
            "check_genealogy",
            f"{report.seconds:.1f} s ({'valid' if report.is_valid else 'PROBLEMS'})",
        )

    def measure_concurrent_under_one_sponsor(self) -> None:
        sponsor_id = int(self.random_sponsors(1)[0])
        before = Distributor.objects.filter(sponsor_id=sponsor_id).count()

        def one(_index: int) -> float:
            try:
                return sign_up(sponsor_id)
            finally:
                close_old_connections()
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=10) as pool:
            latencies = list(pool.map(one, range(100)))
        elapsed = time.perf_counter() - started
        placing = time.perf_counter()
        place_pending_distributors()
        placing = time.perf_counter() - placing
        after = Distributor.objects.filter(sponsor_id=sponsor_id, placed_at__isnull=False).count()
        report = check_tree()
        self.add(
            "100 concurrent sign-ups under one sponsor (10 threads), then placement",
            f"{elapsed:.1f} s, p95 {percentile(latencies, 95):.0f} ms; placed in "
            f"{placing:.1f} s: {after - before} placed; "
            f"tree {'valid' if report.is_valid else 'INVALID'}",
        )

    def print_comparison(self, sizes: list[int], results: dict) -> None:
        """Both sizes side by side, and the ratios the targets name."""
        whats = []
        for size in sizes:
            for what, _ in results[size]:
                if what not in whats:
                    whats.append(what)
        self.stdout.write("")
        self.stdout.write(f"Genealogy figures at {', '.join(f'{s:,}' for s in sizes)}")
        self.stdout.write("| what | " + " | ".join(f"{s:,}" for s in sizes) + " |")
        self.stdout.write("|---|" + "---|" * len(sizes))
        for what in whats:
            cells = [dict(results[s]).get(what, "–") for s in sizes]
            self.stdout.write(f"| {what} | " + " | ".join(cells) + " |")
        small, large = self.figures[sizes[0]], self.figures[sizes[-1]]
        if small.get("placement_ms") and large.get("placement_ms"):
            ratio = large["placement_ms"] / small["placement_ms"]
            self.stdout.write(
                f"placing 1,000: {ratio:.1f}× at {sizes[-1]:,} what it costs at {sizes[0]:,}"
                " (target ≤ 3×)"
            )
        if "latency_max" in large:
            self.stdout.write(
                f"sign-up → placed at {sizes[-1]:,}: max {large['latency_max']:.2f} s "
                "(target < 5 s)"
            )
        if "move_ms" in large:
            self.stdout.write(
                f"moving a leg at {sizes[-1]:,}: {large['move_ms'] / 1000:.2f} s (target < 2 s)"
            )

    def print_table(self, size: int) -> None:
        width = max(len(what) for what, _ in self.rows)
        self.stdout.write("")
        self.stdout.write(f"Genealogy figures at --size {size:,} ({connection.vendor})")
        self.stdout.write(f"| {'what'.ljust(width)} | figure |")
        self.stdout.write(f"|{'-' * (width + 2)}|---|")
        for what, figure in self.rows:
            self.stdout.write(f"| {what.ljust(width)} | {figure} |")
