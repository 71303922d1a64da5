import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Case, Count, When
from django.utils import timezone

from accounts.models import User
from commissions.demo import demo_plan_path, seed_commission_history, seed_pending_adjustment
from commissions.services.plans import parse_plan_source
from compliance.disclosure import generate_income_disclosure
from compliance.services import compute_compliance_flags
from core.arguments import non_negative_int, positive_int
from core.periods import Period
from genealogy.bulk_placement import seed_holding_tank, seed_placement_tree
from genealogy.demo import DEMO_LOGINS, DEMO_PASSWORD, STAFF_EMAIL, STAFF_LOGINS, seed_company
from genealogy.models import Distributor, DistributorStatus
from genealogy.policy import PlacementPolicy
from messaging.demo import seed_announcements, seeding
from orders.demo import seed_orders
from training.demo import seed_training


def default_order_months(distributors: int) -> int:
    return max(2, min(13, 1_000_000 // distributors))


def default_commission_months(order_months: int, distributors: int) -> int:
    """Closed and paid months of commissions: a year for small companies, one at a million."""
    return max(0, min(order_months - 1, 12, 2_000_000 // distributors - 1))


def demo_leader() -> Distributor:
    """The leader (in a tiny company another demo login may have taken its place)."""
    return (
        Distributor.objects.filter(user__email=DEMO_LOGINS["leader"]).first()
        or Distributor.objects.filter(is_house=False, level=1).order_by("id").first()
    )


class Command(BaseCommand):
    help = "Build a realistic demo company (deterministic for a given --seed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--distributors", type=positive_int, default=2_000)
        parser.add_argument("--seed", type=non_negative_int, default=1)
        parser.add_argument(
            "--order-months",
            type=non_negative_int,
            default=None,
            help="Months of order history, the current one included (default: 13 for small "
            "companies, down to 2 at a million distributors to stay within minutes).",
        )
        parser.add_argument(
            "--commission-months",
            type=non_negative_int,
            default=None,
            help="Past months whose commissions are calculated, closed and paid "
            "(default: up to 12, one at a million distributors).",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the company has people."
        )

    def handle(
        self,
        *args,
        distributors: int,
        seed: int,
        if_empty: bool,
        order_months,
        commission_months,
        **options,
    ) -> None:
        if distributors < 10:
            raise CommandError("--distributors must be at least 10.")
        if Distributor.objects.filter(is_house=False).exists():
            if if_empty:
                self.stdout.write("The company already has distributors: demo data not loaded.")
                return
            raise CommandError("The database already has distributors; use an empty database.")
        started = time.monotonic()
        # Seeding emails nobody and queues nothing: a year of closed months would otherwise
        # tell every demo person their statement is ready.
        with seeding():
            result, months, orders = self.seed(
                distributors=distributors,
                seed=seed,
                order_months=order_months,
                commission_months=commission_months,
            )
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company: {distributors:,} distributors, tree depth {result['max_depth']}, "
                f"{orders['lines']:,} order lines over {months} months, built in {elapsed:.1f} s."
            )
        )
        self.stdout.write(f"Password for every demo login: {DEMO_PASSWORD}")
        for email, (name, secret) in STAFF_LOGINS.items():
            self.stdout.write(f"  staff     {email}  ({name}; TOTP secret {secret})")
        self.stdout.write("            `python manage.py demo_totp` prints both current codes")
        for role, login in result["logins"].items():
            self.stdout.write(
                f"  {role:<9} {login['email']}  (depth {login['depth']},"
                f" {login['recruits']} direct recruits)"
            )

    def seed(
        self, *, distributors: int, seed: int, order_months, commission_months
    ) -> tuple[dict, int, dict]:
        def progress(message: str) -> None:
            self.stdout.write(f"  {message}")

        now = timezone.now()
        result = seed_company(distributors=distributors, seed=seed, progress=progress)
        seed_placement_tree(progress=progress)
        months = order_months if order_months is not None else default_order_months(distributors)
        orders = {"lines": 0, "seconds": 0.0}
        if months > 0:
            orders = seed_orders(
                months=months, lines_per_distributor=3.0, seed=seed, progress=progress
            )
        seed_training()
        seed_announcements()
        if commission_months is None:
            commission_months = default_commission_months(months, distributors)
        if commission_months > 0:
            self.seed_commissions(
                months=commission_months,
                first_order_period=Period.current(now).shifted(1 - months) if months else None,
                now=now,
                progress=progress,
            )
        self.seed_tank(seed=seed, progress=progress)
        return result, months, orders

    def seed_tank(self, *, seed: int, progress) -> None:
        """A few new recruits of the leader (and one each of two other people) waiting in the
        holding tank, so the tank page has people to place before the deadline."""
        policy = PlacementPolicy.from_mapping(
            parse_plan_source(demo_plan_path().read_text())[1].placement
        )
        leader = demo_leader()
        others = list(
            Distributor.objects.filter(is_house=False, status=DistributorStatus.ACTIVE)
            .exclude(pk=leader.pk)
            .exclude(user__email__in=[DEMO_LOGINS["deep"], DEMO_LOGINS["newcomer"]])
            .annotate(recruits=Count("enrollees"))
            .order_by(
                Case(When(user__email=DEMO_LOGINS["middle"], then=0), default=1),
                "-recruits",
                "id",
            )[:2]
        )
        waiting = seed_holding_tank(
            recruits=[(leader, 4), *((other, 1) for other in others)],
            policy=policy,
            password_hash=User.objects.get(email=STAFF_EMAIL).password,
            seed=seed,
        )
        progress(
            f"holding tank: {len(waiting)} new recruits wait for their sponsor to place them "
            f"(4 of #{leader.number}), {policy.tank_days} days before the company places them"
        )

    def seed_commissions(self, *, months: int, first_order_period, now, progress) -> None:
        """Closed and paid months, the finished month left ready to calculate, close and export,
        compliance flags of both, the income disclosure of the last closed month's year, and an
        adjustment waiting for a second staff member."""
        history = seed_commission_history(
            months=months, now=now, first_order_period=first_order_period, progress=progress
        )
        closed = [Period.parse(name) for name in history["periods"]]
        if closed:
            self.stdout.write(f"  commissions closed and paid: {', '.join(history['periods'])}")
        if history.get("weeks"):
            self.stdout.write(f"  pay weeks closed and paid: {len(history['weeks'])}")
        for period in [*closed[-1:], *([history["ready"]] if history["ready"] else [])]:
            counts = compute_compliance_flags(period=period)
            progress(f"compliance {period}: {counts.tripped:,} flag(s)")
        if closed:
            statement = generate_income_disclosure(year=closed[-1].year)
            progress(f"income disclosure {statement.year} published")
        staff = User.objects.get(email=STAFF_EMAIL)
        leader = demo_leader()
        adjustment = seed_pending_adjustment(distributor=leader, by=staff, now=now)
        progress(
            f"adjustment of {adjustment.amount / 100:,.2f} for #{leader.number} waits for a"
            " second staff member's approval"
        )
