"""Create or update products from a CSV file, all or nothing.

Columns (header row required; see docs/catalog-example.csv):
sku, name, kind (product | starter_kit | fee), wholesale_price, retail_price, pv, cv,
is_active (true/false, default true), description (optional).
The retail price may not be below the wholesale price, and PV and CV may not exceed
LADDER_CATALOG_MAX_VOLUME_PER_PRICE points per unit of the wholesale price (1.00 by default)
unless the file is loaded with --allow-volume-above-price.
A product is matched by SKU: an existing one is updated, a new one created. Any bad row stops
the whole file; every error is listed with its line number.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.csv import NotUtf8Error, open_text_error, utf8_lines
from core.money import quantize
from orders.catalog import max_volume_per_price, volume_above_price
from orders.models import Product, ProductKind

REQUIRED = ["sku", "name", "kind", "wholesale_price", "retail_price", "pv", "cv"]
TRUE = {"true", "yes", "1", "y", "t"}
FALSE = {"false", "no", "0", "n", "f"}


class DryRun(Exception):
    pass


class Command(BaseCommand):
    help = "Create or update catalog products from a CSV file (atomic; errors by line)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="Check the file only.")
        parser.add_argument(
            "--allow-volume-above-price",
            action="store_true",
            help="Accept PV or CV above LADDER_CATALOG_MAX_VOLUME_PER_PRICE per unit of price.",
        )

    def handle(
        self, *args, file: str, dry_run: bool, allow_volume_above_price: bool, **options
    ) -> None:
        self.volume_limit = None if allow_volume_above_price else max_volume_per_price()
        try:
            lines = utf8_lines(file)
        except OSError as error:
            raise CommandError(open_text_error(file, error)) from error
        try:
            created, updated = self.load(csv.DictReader(lines), dry_run=dry_run)
        except NotUtf8Error as error:
            raise CommandError(f"{error} Nothing was loaded.") from error
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(f"{created} product(s) {verb} created, {updated} updated.")
        )

    def load(self, reader: csv.DictReader, *, dry_run: bool) -> tuple[int, int]:
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"line 1: missing column(s): {', '.join(missing)}")
        errors: list[str] = []
        created = updated = 0
        seen: dict[str, int] = {}
        try:
            with transaction.atomic():
                for line, row in enumerate(reader, start=2):
                    row = {k: (v or "").strip() for k, v in row.items() if k}
                    sku = row["sku"]
                    if not sku:
                        errors.append(f"line {line}: the SKU is empty")
                        continue
                    if sku in seen:
                        errors.append(f"line {line}: SKU {sku} already on line {seen[sku]}")
                        continue
                    seen[sku] = line
                    try:
                        is_new = self.save_row(row)
                    except ValidationError as error:
                        for message in _messages(error):
                            errors.append(f"line {line} ({sku}): {message}")
                        continue
                    created += is_new
                    updated += not is_new
                if errors:
                    raise CommandError("Nothing was loaded; fix these rows:\n" + "\n".join(errors))
                if dry_run:
                    raise DryRun
        except DryRun:
            pass
        return created, updated

    def save_row(self, row: dict[str, str]) -> bool:
        product = Product.objects.filter(sku=row["sku"]).first()
        is_new = product is None
        product = product or Product(sku=row["sku"])
        problems = {}
        product.name = row["name"]
        if row["kind"] not in ProductKind.values:
            problems["kind"] = f"kind must be one of {', '.join(ProductKind.values)}"
        product.kind = row["kind"]
        for field in ("wholesale_price", "retail_price", "pv", "cv"):
            try:
                value = Decimal(row[field])
                if not value.is_finite():
                    raise InvalidOperation
                if value < 0:
                    problems[field] = f"{field} cannot be negative"
                if value != quantize(value):
                    problems[field] = f"{field} has more than two decimals: {row[field]}"
                setattr(product, field, value)
            except InvalidOperation:
                problems[field] = f"{field} is not a number: {row[field]!r}"
        active = row.get("is_active", "").lower()
        if active and active not in TRUE | FALSE:
            problems["is_active"] = f"is_active must be true or false, not {row['is_active']!r}"
        product.is_active = active not in FALSE
        if "description" in row:
            product.description = row["description"]
        if not problems and product.kind == ProductKind.PRODUCT and self.volume_limit is not None:
            problems.update(volume_above_price(product, limit=self.volume_limit))
        if problems:
            raise ValidationError(problems)
        product.full_clean()
        product.save()
        return is_new


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            message if field == "__all__" or field in message else f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return error.messages
