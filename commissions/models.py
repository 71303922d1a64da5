"""Plan versions, periods, runs, the ledger (per-distributor results and lines), clawbacks,
adjustments and holds.

Money is stored as integer cents (``BigIntegerField``), exactly as the engine computes it; the
``*_amount`` properties give ``Decimal`` for pages. Once a period is closed its run, results,
lines, clawbacks and adjustments are immutable: the services never change them, and on
PostgreSQL triggers refuse UPDATE and DELETE on them (migration 0002).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.money import cents_to_decimal
from core.periods import Period, Week

from .engine import KINDS
from .engine.money import rate_from_ppm, rate_to_percent


class LineKind(models.IntegerChoices):
    """Engine kinds (codes are the engine's ``KINDS`` indices)."""

    UNILEVEL = 0, "Unilevel"
    MATCHING = 1, "Matching"
    RETAIL_PROFIT = 2, "Retail profit"
    FAST_START = 3, "Fast start"
    RANK_ADVANCEMENT = 4, "Rank advancement"
    BINARY = 5, "Binary"
    MATRIX = 6, "Matrix"
    STAIR_STEP = 7, "Stair step"
    GENERATION_OVERRIDE = 8, "Generation override"
    ORDER_AWARD = 9, "Order award"


if [label.lower().replace(" ", "_") for label in LineKind.labels] != list(KINDS):
    raise ImportError("LineKind must list the engine's KINDS in order")


@functools.lru_cache(maxsize=64)
def parsed_plan(document_json: str):
    """The ``Plan`` of a document, parsed once per process (a ``Plan`` is immutable, and the key
    is the document itself, so an edited draft is parsed again)."""
    from .engine import parse_plan

    return parse_plan(json.loads(document_json))


class PlanVersion(models.Model):
    """A validated plan document, in force for periods from ``effective_from`` on.

    Immutable once any run used it: an edit is a new version (services, admin, trigger).
    """

    name = models.CharField(max_length=200)
    effective_from = models.DateField(help_text="First day of the first period it applies to.")
    source = models.TextField(help_text="The plan as written (YAML or JSON).")
    document = models.JSONField(help_text="The parsed document (what the engine reads).")
    max_payout_percent = models.DecimalField(max_digits=9, decimal_places=4)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_from__day=1), name="plan_version_starts_on_a_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} from {self.effective_from:%Y-%m} (v{self.pk})"

    @classmethod
    def in_force(cls, day: dt.date) -> PlanVersion | None:
        """The version in force on ``day`` (versions start on the first of a month)."""
        return (
            cls.objects.filter(effective_from__lte=day).order_by("-effective_from", "-id").first()
        )

    @property
    def document_json(self) -> str:
        return json.dumps(self.document, sort_keys=True)

    @property
    def plan(self):
        return parsed_plan(self.document_json)

    @property
    def is_locked(self) -> bool:
        return self.pk is not None and CommissionRun.objects.filter(plan_version=self).exists()


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CALCULATED = "calculated", "Calculated"
    CLOSED = "closed", "Closed"
    PAID = "paid", "Paid"


LOCKED_STATUSES = (PeriodStatus.CLOSED, PeriodStatus.PAID)


class Schedule(models.TextChoices):
    """The pay schedules (``engine/schedules.py``): monthly, and weekly for the kinds a plan
    pays every week."""

    MONTHLY = "monthly", "Monthly"
    WEEKLY = "weekly", "Weekly"


class MonthlyPeriods(models.Manager):
    """The monthly periods: what every page, run, close and report of a month reads."""

    def get_queryset(self):
        return super().get_queryset().filter(schedule=Schedule.MONTHLY)


class CommissionPeriod(models.Model):
    """One pay period of a schedule: a calendar month, or a pay week (``core.periods.Week``);
    open → calculated → closed → paid.

    ``objects`` holds the monthly periods only, so nothing written for months can pick up a
    week by mistake; ``every_schedule`` holds both (the weekly services and the admin use it).
    """

    schedule = models.CharField(
        max_length=8, choices=Schedule.choices, default=Schedule.MONTHLY, db_default="monthly"
    )
    month = models.DateField(help_text="First day of the period: the month's 1st, or the week's.")
    status = models.CharField(
        max_length=16, choices=PeriodStatus.choices, default=PeriodStatus.OPEN
    )
    current_run = models.ForeignKey(
        "CommissionRun", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    projection_run = models.ForeignKey(
        "CommissionRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    export_sha256 = models.CharField(max_length=64, blank=True)
    export_total = models.BigIntegerField(null=True, blank=True, help_text="Cents exported.")

    every_schedule = models.Manager()
    objects = MonthlyPeriods()

    class Meta:
        ordering = ["-month"]
        default_manager_name = "objects"
        base_manager_name = "every_schedule"
        constraints = [
            models.UniqueConstraint(fields=["schedule", "month"], name="one_period_per_start"),
            models.CheckConstraint(
                condition=Q(schedule="weekly") | Q(month__day=1), name="period_is_a_month"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=LOCKED_STATUSES)
                | Q(current_run__isnull=False, closed_at__isnull=False),
                name="closed_period_has_run",
            ),
        ]

    def __str__(self) -> str:
        return str(self.period)

    @property
    def period(self) -> Period | Week:
        if self.schedule == Schedule.WEEKLY:
            return Week(self.month)
        return Period(self.month.year, self.month.month)

    @property
    def is_locked(self) -> bool:
        return self.status in LOCKED_STATUSES


class RunPurpose(models.TextChoices):
    CALCULATION = "calculation", "Calculation"
    PROJECTION = "projection", "Projection"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


class CommissionRun(models.Model):
    """One calculation of a period: what went in (hash), what came out (summary), how long."""

    period = models.ForeignKey(CommissionPeriod, on_delete=models.PROTECT, related_name="runs")
    purpose = models.CharField(
        max_length=16, choices=RunPurpose.choices, default=RunPurpose.CALCULATION
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="runs"
    )
    engine_version = models.CharField(max_length=32, blank=True)
    input_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the inputs.")
    is_final = models.BooleanField(
        default=False, help_text="Set when the period closes: the run is then immutable."
    )
    progress = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True, help_text="Inputs read at this time.")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="run_progress_percent"),
        ]
        indexes = [models.Index(fields=["period", "status"], name="run_by_period_idx")]

    def __str__(self) -> str:
        return f"Run #{self.pk} of {self.period}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


def copied_reference(to, *, related_name: str = "+", null: bool = False) -> models.ForeignKey:
    """A reference in rows written by COPY: no database foreign key and no index of its own
    (checking a million rows would double the write; the ids come from the same read)."""
    return models.ForeignKey(
        to,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=null,
        related_name=related_name,
    )


class DistributorResult(models.Model):
    """One distributor in one run: the frozen inputs (tree and volume) and the outcome, cents.

    Written by COPY; ``run`` and ``distributor`` carry no database foreign key (checking a
    million rows would double the write), the run's own row and ids come from the same read.
    """

    run = copied_reference(CommissionRun, related_name="results")
    distributor = copied_reference("genealogy.Distributor")
    sponsor = copied_reference("genealogy.Distributor", null=True)
    parent = copied_reference("genealogy.Distributor", null=True)
    status = models.SmallIntegerField(help_text="0 active, 1 inactive, 2 terminated.")
    pv = models.BigIntegerField()
    cv = models.BigIntegerField()
    gv = models.BigIntegerField()
    counted_gv = models.BigIntegerField()
    is_active = models.BooleanField()
    paid_as_rank = models.SmallIntegerField()
    highest_rank = models.SmallIntegerField()
    advancement_paid_rank = models.SmallIntegerField()
    carried_in = models.BigIntegerField()
    period_total = models.BigIntegerField()
    balance = models.BigIntegerField()
    payable = models.BigIntegerField()
    carried_out = models.BigIntegerField()
    on_hold = models.BooleanField()
    grace_months_used = models.SmallIntegerField(
        default=0,
        db_default=0,
        help_text="Months in a row paid as the previous rank under rank grace while "
        "qualifying lower (0 = not in grace).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "distributor"], name="one_result_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.distributor_id} in run {self.run_id}"

    def amount(self, field: str) -> Decimal:
        return cents_to_decimal(getattr(self, field))


class CommissionLine(models.Model):
    """A ledger line of a run (cents). Unilevel is stored per (earner, level): ``source`` is
    empty and ``base`` is the CV of every source paying that level; the per-source detail is
    re-derived from the frozen results (``commissions.engine.explain``). Under
    ``options.upline: order_time`` unilevel is stored per (earner, level, order line) instead,
    with the buyer as ``source`` and the order line as ``source_line_id``.

    The rate is in one of two units, never both (posted lines are never rewritten): lines of
    runs before engine 1.2.0 have ``rate_ppm`` (parts per million of 1, four decimals of a
    percent), newer lines ``rate_units`` (1e-8 of 1, six decimals). Read it through ``rate``
    (rate units either way) or ``rate_percent``."""

    run = copied_reference(CommissionRun, related_name="lines")
    earner = copied_reference("genealogy.Distributor")
    kind = models.SmallIntegerField(choices=LineKind.choices)
    level = models.SmallIntegerField()
    source = copied_reference("genealogy.Distributor", null=True)
    source_line = copied_reference("orders.OrderLine", null=True)
    base = models.BigIntegerField()
    rate_ppm = models.IntegerField(
        null=True,
        help_text="Rate in parts per million of 1 (lines of runs before engine 1.2.0), else empty.",
    )
    rate_units = models.IntegerField(
        null=True,
        help_text="Rate in 1e-8 of 1, 100 % = 100,000,000 (lines from engine 1.2.0), else empty.",
    )
    amount_before_cap = models.BigIntegerField()
    amount = models.BigIntegerField()
    position = models.IntegerField(help_text="Order of the line within the run.")

    class Meta:
        ordering = ["run", "position"]
        # Only the two lookups the pages and clawbacks make: an index per foreign key would
        # turn the COPY of a run into random writes across six large indexes.
        indexes = [
            models.Index(fields=["run", "earner"], name="line_by_earner_idx"),
            models.Index(
                fields=["run", "source_line"],
                condition=Q(source_line__isnull=False),
                name="line_by_order_line_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_ppm__isnull=True, rate_units__isnull=False)
                | Q(rate_ppm__isnull=False, rate_units__isnull=True),
                name="line_rate_in_one_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {cents_to_decimal(self.amount)}"

    @property
    def rate(self) -> int:
        """The rate in rate units (1e-8 of 1, ``engine.money``), whichever unit it was posted in."""
        return line_rate(self.rate_ppm, self.rate_units)

    @property
    def rate_percent(self) -> Decimal:
        """The rate as a percent, exact: ``Decimal("3.333333")``, ``Decimal("5")``."""
        return rate_to_percent(self.rate)


def line_rate(rate_ppm: int | None, rate_units: int | None) -> int:
    """A ledger line's rate in rate units from its two columns (``.values()`` readers)."""
    return rate_units if rate_units is not None else rate_from_ppm(rate_ppm or 0)


def line_rate_percent(rate_ppm: int | None, rate_units: int | None) -> Decimal:
    """A ledger line's rate as an exact percent from its two columns: 5 % is ``Decimal("5")``,
    whether posted as 50_000 ppm or 5_000_000 rate units."""
    return rate_to_percent(line_rate(rate_ppm, rate_units))


class Clawback(models.Model):
    """A negative line in an open period taking back what was paid on a later-refunded line.

    One per (refund line, earner, kind, level): a refund line is clawed back once.
    """

    period = models.ForeignKey(CommissionPeriod, on_delete=models.PROTECT, related_name="clawbacks")
    refund_line = models.ForeignKey("orders.RefundLine", on_delete=models.PROTECT, related_name="+")
    original_period = models.ForeignKey(
        CommissionPeriod, on_delete=models.PROTECT, related_name="+"
    )
    earner = models.ForeignKey("genealogy.Distributor", on_delete=models.PROTECT, related_name="+")
    kind = models.SmallIntegerField(choices=LineKind.choices)
    level = models.SmallIntegerField()
    source = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+", null=True
    )
    refunded_base = models.BigIntegerField(help_text="Refunded CV or profit, cents.")
    original_base = models.BigIntegerField(help_text="The base the original line paid on.")
    original_amount = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="Negative cents.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["refund_line", "earner", "kind", "level"], name="clawback_once"
            ),
            models.CheckConstraint(condition=Q(amount__lte=0), name="clawback_not_positive"),
        ]
        indexes = [models.Index(fields=["period", "earner"], name="clawback_by_earner_idx")]

    def __str__(self) -> str:
        return f"Clawback {cents_to_decimal(self.amount)} from {self.earner_id}"

    @property
    def was_limited(self) -> bool:
        """Less than the refunded share of the line (even rounded down): the never-more-than-
        paid limit took the rest, as earlier refunds had already taken it back."""
        if self.original_base <= 0:
            return False
        share = self.original_amount * self.refunded_base // self.original_base
        return -self.amount < share


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Adjustment(models.Model):
    """A manual line added by staff with a reason; large ones need a second staff member."""

    period = models.ForeignKey(
        CommissionPeriod, on_delete=models.PROTECT, related_name="adjustments"
    )
    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+"
    )
    amount = models.BigIntegerField(help_text="Cents; negative takes money back.")
    reason = models.TextField()
    is_forfeiture = models.BooleanField(default=False, editable=False)
    status = models.CharField(
        max_length=16, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="adjustment_has_reason"),
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_not_zero"),
            # Nobody approves their own adjustment (the system's own have no creator).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | Q(created_by__isnull=True)
                | ~Q(decided_by=F("created_by")),
                name="adjustment_not_self_approved",
            ),
        ]
        indexes = [models.Index(fields=["period", "status"], name="adjustment_by_period_idx")]

    def __str__(self) -> str:
        return f"Adjustment {cents_to_decimal(self.amount)} for {self.distributor_id}"

    @property
    def amount_decimal(self) -> Decimal:
        return cents_to_decimal(self.amount)


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "On hold"
    RELEASED = "released", "Released"
    FORFEITED = "forfeited", "Forfeited"


class Hold(models.Model):
    """A compliance hold: the distributor's balance is carried, unpaid, until released or
    forfeited (with a reason)."""

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    reason = models.TextField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    forfeiture = models.ForeignKey(
        Adjustment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="hold_has_reason"),
            models.UniqueConstraint(
                fields=["distributor"],
                condition=Q(status="active"),
                name="one_active_hold_per_distributor",
            ),
            models.CheckConstraint(
                condition=Q(status="active") | (Q(ended_at__isnull=False) & ~Q(end_reason="")),
                name="ended_hold_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Hold on {self.distributor_id} ({self.get_status_display()})"


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


class BinarySide(models.IntegerChoices):
    LEFT = 0, "Left"
    RIGHT = 1, "Right"


class BinaryCarry(models.Model):
    """One entry of a distributor's binary carry queue at the close of a run: volume (CV,
    cents) on one leg, from the period it was earned in, not yet paired. The next period's
    run reads the closed run's rows as its carried-in volume (oldest first).

    Written set-based at close (COPY-style batches); a close retried before the run is final
    replaces the run's own rows.
    """

    run = copied_reference(CommissionRun, related_name="binary_carries")
    distributor = copied_reference("genealogy.Distributor")
    side = models.SmallIntegerField(choices=BinarySide.choices)
    source_period = models.DateField(help_text="First day of the month the volume came from.")
    volume = models.BigIntegerField(help_text="Carried CV, cents.")

    class Meta:
        ordering = ["run", "distributor", "side", "source_period"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "distributor", "side", "source_period"],
                name="one_binary_carry_entry",
            ),
            models.CheckConstraint(condition=Q(volume__gt=0), name="binary_carry_positive"),
            models.CheckConstraint(condition=Q(side__in=[0, 1]), name="binary_carry_side"),
        ]

    def __str__(self) -> str:
        side = self.get_side_display()
        return f"{self.distributor_id} {side} {self.volume} from {self.source_period:%Y-%m}"


class BinaryLegFigures(models.Model):
    """One person's binary figures in one calculation run (the component's report): the leg
    volume available before pairing, what paired, was flushed, expired and carried (cents of
    volume), cycles paid (millionths) and the pay before the payout cap (cents from engine
    1.2.0; the raw pay in 1e-6 cent in earlier runs, whose rows are never rewritten). Statements
    explain the binary line from it. Written by COPY with the run's results."""

    run = copied_reference(CommissionRun, related_name="binary_figures")
    distributor = copied_reference("genealogy.Distributor")
    qualified = models.BooleanField()
    cycles_ppm = models.BigIntegerField()
    paid = models.BigIntegerField(
        help_text="Pay before the payout cap: cents from engine 1.2.0 (raw 1e-6 cent before)."
    )
    left = models.BigIntegerField()
    right = models.BigIntegerField()
    paired_left = models.BigIntegerField()
    paired_right = models.BigIntegerField()
    flushed_left = models.BigIntegerField()
    flushed_right = models.BigIntegerField()
    expired_left = models.BigIntegerField()
    expired_right = models.BigIntegerField()
    carried_left = models.BigIntegerField()
    carried_right = models.BigIntegerField()
    refund_unmatched_left = models.BigIntegerField()
    refund_unmatched_right = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "distributor"], name="one_binary_figures_row"),
        ]

    def __str__(self) -> str:
        return f"binary figures of {self.distributor_id} in run {self.run_id}"


class BinaryPairedVolume(models.Model):
    """One row of a run's binary pairing history (the engine's ``paired`` state): volume of
    one source month on one leg that the distributor's pairing of ``paired_period`` consumed
    with pay, still standing after the run. A later refund of that month's volume finds here
    the pairing it took part in (``commissions.engine.binary``, rules 7 and 8). Each run writes
    the whole standing history (COPY, like ``BinaryCarry``); rows older than the plan's
    ``clawback_periods`` are no longer written."""

    run = copied_reference(CommissionRun, related_name="binary_paired")
    distributor = copied_reference("genealogy.Distributor")
    side = models.SmallIntegerField(choices=BinarySide.choices)
    source_period = models.DateField(help_text="First day of the month the volume came from.")
    paired_period = models.DateField(help_text="First day of the month it paired in.")
    volume = models.BigIntegerField(help_text="Volume still standing in that pairing, cents.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "distributor", "side", "source_period", "paired_period"],
                name="one_binary_paired_row",
            ),
            models.CheckConstraint(condition=Q(volume__gt=0), name="binary_paired_positive"),
            models.CheckConstraint(condition=Q(side__in=[0, 1]), name="binary_paired_side"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.distributor_id} {self.get_side_display()} {self.volume} from "
            f"{self.source_period:%Y-%m} paired in {self.paired_period:%Y-%m}"
        )


class BinaryPairing(models.Model):
    """What one distributor's binary pairing of ``paired_period`` paid (the ledger line's
    amount, cents: after the payout cap), the volume it consumed with pay on each leg, and what
    refunds have clawed back of it as of the run (the engine's ``pairings`` state). Written by
    COPY with the pairing history; kept while a history row refers to it."""

    run = copied_reference(CommissionRun, related_name="binary_pairings")
    distributor = copied_reference("genealogy.Distributor")
    paired_period = models.DateField(help_text="First day of the month of the pairing.")
    paid = models.BigIntegerField(help_text="Cents the pairing paid.")
    paired_left = models.BigIntegerField(help_text="Left volume consumed with pay, cents.")
    paired_right = models.BigIntegerField(help_text="Right volume consumed with pay, cents.")
    clawed = models.BigIntegerField(help_text="Cents clawed back of it so far.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "distributor", "paired_period"], name="one_binary_pairing_row"
            ),
            models.CheckConstraint(
                condition=Q(clawed__gte=0) & Q(clawed__lte=F("paid")),
                name="binary_pairing_clawed_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"binary pairing of {self.distributor_id} in {self.paired_period:%Y-%m}"


class BinaryClawback(models.Model):
    """The binary side of a ``Clawback`` row (kind binary): which leg the refunded volume was
    on, the month it came from, and the other leg's volume the refund put back into the carry
    queue. The clawback's ``original_period`` is the month of the pairing, its ``level`` the
    months between the volume's month and that pairing, ``refunded_base`` the refunded volume
    taken out of the pairing, ``original_base`` what the pairing consumed on that leg and
    ``original_amount`` what it paid. Written with the clawback, in the refund's period."""

    clawback = models.OneToOneField(
        Clawback, on_delete=models.PROTECT, primary_key=True, related_name="binary"
    )
    period = models.ForeignKey(CommissionPeriod, on_delete=models.PROTECT, related_name="+")
    side = models.SmallIntegerField(choices=BinarySide.choices)
    source_period = models.DateField(help_text="First day of the month the volume came from.")
    restored = models.BigIntegerField(help_text="Other leg's volume put back, cents.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(side__in=[0, 1]), name="binary_clawback_side"),
            models.CheckConstraint(condition=Q(restored__gte=0), name="binary_clawback_restored"),
        ]

    def __str__(self) -> str:
        return f"binary detail of clawback {self.clawback_id}"


class RankOverride(models.Model):
    """A staff decision that a distributor is paid as at least ``rank_code`` in one month, with
    the reason (shown on their statement). Append-only (PostgreSQL refuses UPDATE and DELETE):
    a correction is a new row, and the newest row of a (distributor, month) wins; an empty
    ``rank_code`` withdraws the override. Only months still open take one
    (``services.rank_overrides.rank_override_create``)."""

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+"
    )
    period = models.DateField(help_text="First day of the month the override is for.")
    rank_code = models.CharField(
        max_length=64, blank=True, help_text="The plan's rank code; empty withdraws the override."
    )
    reason = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period__day=1), name="rank_override_is_a_month"),
            models.CheckConstraint(condition=~Q(reason=""), name="rank_override_has_reason"),
        ]
        indexes = [
            models.Index(fields=["period", "distributor"], name="rank_override_by_period_idx")
        ]

    def __str__(self) -> str:
        what = self.rank_code or "no override"
        return f"{what} for {self.distributor_id} in {self.period:%Y-%m}"


class SimulationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_SIMULATION_STATUSES = (SimulationStatus.QUEUED, SimulationStatus.RUNNING)


class PlanSimulation(models.Model):
    """A staff request to simulate a plan version (a draft) over a closed month, run by a
    Celery task (``services.simulations.simulation_run``); ``result`` holds the comparison as
    JSON (money as decimal strings). One queued or running simulation per version and month:
    asking again while it is going reuses it."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="simulations"
    )
    period = models.ForeignKey(
        CommissionPeriod, on_delete=models.PROTECT, related_name="simulations"
    )
    status = models.CharField(
        max_length=16, choices=SimulationStatus.choices, default=SimulationStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=64, blank=True)
    plan_hash = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the plan document the simulation read."
    )
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="simulation_progress_percent"
            ),
            models.UniqueConstraint(
                fields=["plan_version", "period"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_simulation",
            ),
        ]

    def __str__(self) -> str:
        return f"Simulation #{self.pk} of v{self.plan_version_id} on {self.period}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_SIMULATION_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
