"""Figures for the genealogy at a given size. Prints, never asserts.

    manage.py bench_genealogy --size 1000
    manage.py bench_genealogy --size 1000000

Builds the company with `genealogy.demo.seed_company` when the database has only the house, or
reuses it when it already has about --size distributors. Then measures sign-ups (latency,
sustained rate), placing 1,000 waiting people, the team pages at the house, a middle node and a
leaf, a subtree move, a full renumber, check_genealogy, and 100 concurrent sign-ups under one
sponsor. The people it signs up stay in the database (placed).

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
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from accounts.models import User
from config.celery import app as celery_app
from core.arguments import non_negative_int, positive_int, positive_number
from core.bulk import autovacuum_is_off, vacuum_and_analyze
from core.csv import safe_csv_writer
from genealogy import selectors
from genealogy.demo import FIRST_NAMES, LAST_NAMES, build_sponsor_links, seed_company
from genealogy.imports import COLUMNS as IMPORT_COLUMNS
from genealogy.integrity import check_tree
from genealogy.models import Distributor, DistributorStatus
from genealogy.services import (
    create_distributor,
    move_distributor,
    place_pending_distributors,
    renumber_tree,
)

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


class Command(BaseCommand):
    help = "Measure the genealogy at --size distributors (prints figures, never asserts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--size", type=positive_int, default=10_000)
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
        self.rows: list[tuple[str, str]] = []
        self.rng = np.random.default_rng(seed)
        self.ensure_company(size, seed)
        self.active_ids = np.array(
            Distributor.objects.filter(status=DistributorStatus.ACTIVE).values_list("id", flat=True)
        )
        if autovacuum_is_off():
            self.stdout.write(
                "  PostgreSQL's autovacuum is off here: the tables are vacuumed before each "
                "phase, as autovacuum would keep them"
            )
        for phase in (
            lambda: self.measure_sign_ups(signups),
            lambda: self.measure_sustained(options["sustained_seconds"], options["threads"]),
            self.measure_placement,
            self.measure_pages,
            self.measure_move,
            self.measure_renumber_and_check,
            self.measure_concurrent_under_one_sponsor,
        ):
            vacuum_and_analyze(User, Distributor)
            phase()
        self.print_table(size)

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
        """Sign-ups in threads for `seconds` or until the company has doubled, if sooner."""
        stop = threading.Event()
        done: list[int] = []
        quota = max(1, self.size // threads)
        placements: list[float] = []

        def worker(index: int) -> None:
            rng = np.random.default_rng(index)
            total = 0
            try:
                while not stop.is_set() and total < quota:
                    sign_up(int(rng.choice(self.active_ids)))
                    total += 1
            finally:
                done.append(total)
                connection.close()

        def placer() -> None:
            try:
                while not stop.wait(5):  # the debounced task runs about every 5 s
                    started = time.perf_counter()
                    place_pending_distributors()
                    placements.append((time.perf_counter() - started) * 1000)
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads + 1) as pool:
            futures = [pool.submit(worker, i) for i in range(threads)]
            futures.append(pool.submit(placer))
            deadline = started + seconds
            while time.perf_counter() < deadline and not all(f.done() for f in futures[:-1]):
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            stop.set()
            for future in futures:
                future.result()
        place_pending_distributors()
        per_minute = sum(done) * 60 / elapsed
        self.add(
            f"sustained sign-ups ({threads} threads, {sum(done):,} in {elapsed:.0f} s,"
            " placing every 5 s)",
            f"{per_minute:,.0f} per minute; "
            + (
                f"placement batch p50 {percentile(placements, 50):.0f} ms, "
                f"max {max(placements):.0f} ms"
                if placements
                else "no placement batch ran meanwhile"
            ),
        )

    def measure_placement(self) -> None:
        for sponsor in self.random_sponsors(1_000):
            sign_up(sponsor)
        started = time.perf_counter()
        result = place_pending_distributors()
        self.add(
            f"place 1,000 waiting people ({result.method})",
            f"{(time.perf_counter() - started) * 1000:.0f} ms",
        )

    # --- Team pages ---------------------------------------------------------------------------

    def pick_nodes(self) -> dict[str, Distributor]:
        placed = Distributor.objects.filter(placed_at__isnull=False, is_house=False)
        # A middle node: the largest team at about half the maximum depth.
        max_level = placed.order_by("-level").values_list("level", flat=True).first() or 1
        candidates = list(
            placed.filter(level=max(1, max_level // 2)).values_list("id", "lft", "rght")[:5_000]
        )
        middle_id = max(candidates, key=lambda row: row[2] - row[1])[0]
        leaf = placed.filter(rght=F("lft") + 1).order_by("-level").first()
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
            client.force_login(staff if node.is_house else node.user)
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
        # A leg of a few hundred people from the first half, moved near the end and back.
        leg = (
            placed.filter(lft__lt=self.size // 2)
            .annotate(width=F("rght") - F("lft"))
            .filter(width__range=(2, 4_000))
            .order_by("-width")
            .first()
        )
        target = (
            placed.filter(status=DistributorStatus.ACTIVE, lft__gt=self.size * 3 // 2)
            .exclude(pk=leg.sponsor_id if leg else None)
            .first()
        )
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
        self.add(
            f"move a leg of {leg.downline_size + 1:,} across the tree (one UPDATE)",
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

    def print_table(self, size: int) -> None:
        width = max(len(what) for what, _ in self.rows)
        self.stdout.write("")
        self.stdout.write(f"Genealogy figures at --size {size:,} ({connection.vendor})")
        self.stdout.write(f"| {'what'.ljust(width)} | figure |")
        self.stdout.write(f"|{'-' * (width + 2)}|---|")
        for what, figure in self.rows:
            self.stdout.write(f"| {what.ljust(width)} | {figure} |")
