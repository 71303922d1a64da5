"""Import paid orders from a CSV file, all or nothing, idempotent by external order number.

Columns (header row required; see docs/orders-import-example.csv):

external_number     the order's number in the other system; several rows with the same number
                    are the lines of one order. An order whose number was already imported is
                    skipped, so importing the same file twice creates nothing new.
distributor_number  who placed the order
customer_email      the distributor's retail customer (required for retail, empty for personal)
sku                 product SKU (an active product)
quantity            whole number, 1 to LADDER_MAX_QUANTITY_PER_LINE
paid_at             ISO 8601 date-time, e.g. 2026-03-31T23:30:00-04:00; without an offset it is
                    read in the company's time zone. Volume counts in that month, or, when
                    its commissions are already closed, in the first open month after it
                    (the summary lists those orders).
purpose             personal | retail

Every bad row is reported with its line number and nothing is written.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from core.csv import NotUtf8Error, open_text_error, utf8_lines
from core.periods import Period, company_zone
from genealogy.models import Distributor
from orders.models import Customer, Order, OrderPurpose, Product
from orders.services import current_time, max_quantity_per_line, order_pay, order_place

COLUMNS = [
    "external_number",
    "distributor_number",
    "customer_email",
    "sku",
    "quantity",
    "paid_at",
    "purpose",
]


class DryRun(Exception):
    pass


@dataclass
class ImportedOrder:
    external_number: str
    first_line: int
    distributor_number: str
    customer_email: str
    paid_at_text: str
    purpose: str
    items: dict[int, int] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)


class Command(BaseCommand):
    help = "Import paid orders from a CSV file (atomic, idempotent by external_number)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="Check the file only.")

    def handle(self, *args, file: str, dry_run: bool, **options) -> None:
        try:
            lines = utf8_lines(file)
        except OSError as error:
            raise CommandError(open_text_error(file, error)) from error
        try:
            created, skipped = self.run(csv.DictReader(lines), dry_run=dry_run)
        except NotUtf8Error as error:
            raise CommandError(f"{error} Nothing was imported.") from error
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(
                f"{created} order(s) {verb} imported; {skipped} already imported, skipped."
            )
        )
        for note in self.later_period_notes:
            self.stdout.write(note)

    def run(self, reader: csv.DictReader, *, dry_run: bool) -> tuple[int, int]:
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"line 1: missing column(s): {', '.join(missing)}")
        errors: list[str] = []
        orders = self.group_rows(reader, errors)
        existing = set(
            Order.objects.filter(external_number__in=list(orders)).values_list(
                "external_number", flat=True
            )
        )
        created = 0
        self.later_period_notes: list[str] = []
        now = current_time()
        try:
            with transaction.atomic():
                for number, imported in orders.items():
                    if number in existing:
                        continue
                    problems = self.import_order(imported, now=now)
                    where = f"line {imported.first_line} (order {number})"
                    errors.extend(f"{where}: {problem}" for problem in problems)
                    created += not problems
                if errors:
                    raise CommandError(
                        "Nothing was imported; fix these rows:\n"
                        + "\n".join(sorted(errors, key=_line))
                    )
                if dry_run:
                    raise DryRun
        except DryRun:
            pass
        return created, len(existing)

    def group_rows(self, reader: csv.DictReader, errors: list[str]) -> dict[str, ImportedOrder]:
        orders: dict[str, ImportedOrder] = {}
        skus = dict(Product.objects.values_list("sku", "id"))
        limit = max_quantity_per_line()
        for line, row in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in row.items() if k}
            number = row["external_number"]
            if not number:
                errors.append(f"line {line}: external_number is empty")
                continue
            order = orders.get(number)
            if order is None:
                order = orders[number] = ImportedOrder(
                    external_number=number,
                    first_line=line,
                    distributor_number=row["distributor_number"],
                    customer_email=row["customer_email"].lower(),
                    paid_at_text=row["paid_at"],
                    purpose=row["purpose"].lower(),
                )
            else:
                for name, value in (
                    ("distributor_number", order.distributor_number),
                    ("customer_email", order.customer_email),
                    ("paid_at", order.paid_at_text),
                    ("purpose", order.purpose),
                ):
                    if row[name].lower() != value.lower():
                        errors.append(
                            f"line {line}: {name} differs from line {order.first_line} "
                            f"of the same order {number}"
                        )
            order.lines.append(line)
            product_id = skus.get(row["sku"])
            if product_id is None:
                errors.append(f"line {line}: no product has the SKU {row['sku']!r}")
                continue
            try:
                quantity = int(row["quantity"])
            except ValueError:
                errors.append(f"line {line}: quantity {row['quantity']!r} is not a whole number")
                continue
            if not 1 <= quantity <= limit:
                errors.append(f"line {line}: quantity must be between 1 and {limit}")
                continue
            if product_id in order.items:
                errors.append(f"line {line}: SKU {row['sku']} appears twice in order {number}")
                continue
            order.items[product_id] = quantity
        return orders

    def import_order(self, imported: ImportedOrder, *, now: dt.datetime) -> list[str]:
        problems = []
        distributor = None
        if not imported.distributor_number.isdigit():
            problems.append(f"distributor_number {imported.distributor_number!r} is not a number")
        else:
            distributor = Distributor.objects.filter(
                number=int(imported.distributor_number)
            ).first()
            if distributor is None:
                problems.append(f"no distributor has the number {imported.distributor_number}")
        if imported.purpose not in OrderPurpose.values:
            problems.append(f"purpose must be personal or retail, not {imported.purpose!r}")
        paid_at = _parse_moment(imported.paid_at_text)
        if paid_at is None:
            problems.append(f"paid_at {imported.paid_at_text!r} is not an ISO 8601 date-time")
        elif paid_at > now:
            problems.append(f"paid_at {imported.paid_at_text} is in the future")
        customer = None
        if imported.purpose == OrderPurpose.RETAIL and not imported.customer_email:
            problems.append("a retail order needs the customer's email")
        elif imported.purpose == OrderPurpose.PERSONAL and imported.customer_email:
            problems.append("an order for personal use has no customer_email")
        elif imported.customer_email and distributor is not None:
            customer = Customer.objects.filter(
                distributor=distributor, email__iexact=imported.customer_email
            ).first()
            if customer is None:
                problems.append(
                    f"distributor {distributor.number} has no customer {imported.customer_email}"
                )
        if problems or not imported.items:
            return problems
        try:
            with transaction.atomic():
                order = order_place(
                    distributor=distributor,
                    items=imported.items,
                    purpose=imported.purpose,
                    customer=customer,
                    now=paid_at,
                    external_number=imported.external_number,
                )
                order = order_pay(
                    order=order,
                    provider="manual",
                    method="import",
                    reference=imported.external_number,
                    now=paid_at,
                )
        except ValidationError as error:
            return error.messages
        if order.counts_in_a_later_period:
            self.later_period_notes.append(
                f"line {imported.first_line} (order {imported.external_number}): paid in "
                f"{Period.containing(order.paid_at)}, which is closed: its volume counts in "
                f"{order.commission_period}."
            )
        return []


def _parse_moment(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=company_zone())
    return moment


def _line(message: str) -> int:
    try:
        return int(message.split()[1])
    except (IndexError, ValueError):
        return 0
