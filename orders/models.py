"""Catalog, retail customers, orders and refunds.

Money is `Decimal` (see `orders.money`); PV and CV are decimals with two places. Each order
line snapshots the product's prices and volumes, so catalog edits never change history. A
refund is its own record with its own lines, never an edit of the order. Order lines and refund
lines repeat the distributor, purpose, the moment money moved (`paid_at`, `refunded_at`) and the
commission period it counts in (`commission_month`, see `orders.commission_period`), so the
volume service aggregates one table at a time (see `orders.volume`).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from accounts.validators import validate_email_length, validate_person_name
from core.periods import Period

MONEY = {"max_digits": 12, "decimal_places": 2}
VOLUME = {"max_digits": 12, "decimal_places": 2}
IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp"]
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
IMAGE_MAX_BYTES = 2 * 1024 * 1024


def validate_image_file(upload) -> None:
    """A product picture: JPEG, PNG or WebP by its first bytes (not only its name), ≤ 2 MB."""
    if upload.size and upload.size > IMAGE_MAX_BYTES:
        raise ValidationError("The picture is larger than 2 MB.")
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(12)
    upload.seek(position)
    if not head.startswith(IMAGE_SIGNATURES) or (
        head.startswith(b"RIFF") and head[8:12] != b"WEBP"
    ):
        raise ValidationError("The picture must be a JPEG, PNG or WebP image.")


class ProductKind(models.TextChoices):
    PRODUCT = "product", "Product"
    STARTER_KIT = "starter_kit", "Starter kit"
    FEE = "fee", "Fee"


# Nobody is paid for someone else's enrollment: only products carry volume (a CHECK constraint
# on products and again on order lines, whatever code or SQL writes them).
CARRIES_VOLUME_ONLY_IF_PRODUCT = Q(kind=ProductKind.PRODUCT) | Q(pv=0, cv=0)


class Product(models.Model):
    sku = models.CharField("SKU", max_length=32, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    image = models.FileField(
        upload_to="products/",
        blank=True,
        validators=[FileExtensionValidator(IMAGE_EXTENSIONS), validate_image_file],
        help_text="JPEG, PNG or WebP, at most 2 MB.",
    )
    kind = models.CharField(max_length=16, choices=ProductKind.choices, default=ProductKind.PRODUCT)
    wholesale_price = models.DecimalField(
        **MONEY, help_text="What a distributor pays (personal orders)."
    )
    retail_price = models.DecimalField(**MONEY, help_text="What a retail customer pays.")
    pv = models.DecimalField(
        "PV", **VOLUME, default=Decimal("0"), help_text="Personal volume: activity and ranks."
    )
    cv = models.DecimalField(
        "CV",
        **VOLUME,
        default=Decimal("0"),
        help_text="Commissionable volume: the base commissions are computed on.",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=CARRIES_VOLUME_ONLY_IF_PRODUCT, name="product_volume_only_on_products"
            ),
            models.CheckConstraint(
                condition=Q(wholesale_price__gte=0, retail_price__gte=0, pv__gte=0, cv__gte=0),
                name="product_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def clean(self) -> None:
        super().clean()
        if self.kind != ProductKind.PRODUCT and (self.pv or self.cv):
            raise ValidationError(
                {"pv": "Starter kits and fees carry no volume: set PV and CV to 0."}
            )
        if (
            self.retail_price is not None
            and self.wholesale_price is not None
            and self.retail_price < self.wholesale_price
        ):
            raise ValidationError(
                {
                    "retail_price": f"The retail price ({self.retail_price}) is below the "
                    f"wholesale price ({self.wholesale_price}): a retail customer would pay "
                    "less than a distributor."
                }
            )


class Customer(models.Model):
    """A distributor's own retail customer; visible to that distributor (and staff) only."""

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="customers"
    )
    name = models.CharField(max_length=150, validators=[validate_person_name])
    email = models.EmailField(blank=True, validators=[validate_email_length])
    phone = PhoneNumberField(max_length=32, blank=True)  # E.164
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "distributor",
                Lower("email"),
                condition=~Q(email=""),
                name="customer_email_unique_per_distributor",
            ),
        ]
        indexes = [models.Index(fields=["distributor", "name"], name="customer_by_name_idx")]

    def __str__(self) -> str:
        return self.name


class OrderPurpose(models.TextChoices):
    PERSONAL = "personal", "Personal use"
    RETAIL = "retail", "Retail sale"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED)


class Order(models.Model):
    """An order a distributor placed for themselves or for one of their retail customers.

    placed → paid → shipped, or placed → cancelled before payment. Totals are the sums of the
    lines, written once when the order is placed.
    """

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    purpose = models.CharField(max_length=16, choices=OrderPurpose.choices)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    currency = models.CharField(max_length=3)
    total_amount = models.DecimalField(**MONEY, help_text="What the buyer pays.")
    total_pv = models.DecimalField("PV", **VOLUME)
    total_cv = models.DecimalField("CV", **VOLUME)
    retail_profit = models.DecimalField(**MONEY, default=Decimal("0"))
    external_number = models.CharField(
        max_length=64, null=True, blank=True, unique=True, help_text="Number in an imported file."
    )
    placed_at = models.DateTimeField(default=timezone.now)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    commission_month = models.DateField(
        "commission period",
        null=True,
        blank=True,
        editable=False,
        help_text="First day of the month the volume counts in, set at payment: the month of "
        "paid_at while it is open, else the first open month after it.",
    )
    payment_provider = models.CharField(max_length=32, blank=True)
    payment_method = models.CharField(max_length=64, blank=True)
    payment_reference = models.CharField(max_length=128, blank=True)
    paid_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose=OrderPurpose.PERSONAL, customer__isnull=True)
                | Q(purpose=OrderPurpose.RETAIL, customer__isnull=False),
                name="order_customer_iff_retail",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PAID_STATUSES, paid_at__isnull=False)
                | Q(status__in=[OrderStatus.PLACED, OrderStatus.CANCELLED], paid_at__isnull=True),
                name="order_paid_at_iff_paid",
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.CANCELLED) | Q(cancelled_at__isnull=False),
                name="order_cancelled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=True, commission_month__isnull=True)
                | Q(paid_at__isnull=False, commission_month__isnull=False, commission_month__day=1),
                name="order_paid_has_commission_month",
            ),
        ]
        indexes = [
            models.Index(fields=["distributor", "-placed_at"], name="order_by_distributor_idx"),
            models.Index(fields=["paid_at"], name="order_paid_at_idx"),
            models.Index(fields=["-placed_at", "-id"], name="order_newest_idx"),  # default order
            models.Index(fields=["status", "-placed_at"], name="order_by_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def can_be_cancelled(self) -> bool:
        return self.status == OrderStatus.PLACED

    @property
    def commission_period(self) -> Period | None:
        """The period the order's volume counts in (None until it is paid)."""
        month = self.commission_month
        return Period(month.year, month.month) if month else None

    @property
    def counts_in_a_later_period(self) -> bool:
        """Paid for a month that was already closed: its volume counts in a later one."""
        return bool(self.paid_at) and self.commission_period != Period.containing(self.paid_at)

    @property
    def buyer_name(self) -> str:
        return self.customer.name if self.customer_id else "Personal use"


class OrderLine(models.Model):
    """One product on an order, with the catalog's values copied at the time of the order.

    `unit_price` is what the buyer paid per unit: retail for a retail sale, wholesale for
    personal use. `retail_profit` is (retail − wholesale) × quantity on a retail sale, else 0.
    `distributor`, `purpose` and `paid_at` repeat the order's, so that the volume service reads
    one table; `paid_at` and `commission_month` are set when the order is paid and stay empty
    on unpaid orders.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField("SKU", max_length=32)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=ProductKind.choices)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    unit_wholesale = models.DecimalField(**MONEY)
    unit_retail = models.DecimalField(**MONEY)
    unit_pv = models.DecimalField(**VOLUME)
    unit_cv = models.DecimalField(**VOLUME)
    amount = models.DecimalField(**MONEY)
    pv = models.DecimalField("PV", **VOLUME)
    cv = models.DecimalField("CV", **VOLUME)
    retail_profit = models.DecimalField(**MONEY)
    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    purpose = models.CharField(max_length=16, choices=OrderPurpose.choices)
    paid_at = models.DateTimeField(null=True, blank=True)
    commission_month = models.DateField(null=True, blank=True, editable=False)
    # The pay week the line counts in when the plan pays some kinds weekly (its first day; the
    # same rule as the month: orders.commission_period), else null.
    commission_week = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=ProductKind.PRODUCT) | Q(pv=0, cv=0, unit_pv=0, unit_cv=0),
                name="order_line_volume_only_on_products",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_pos"),
            models.CheckConstraint(
                condition=Q(amount=F("unit_price") * F("quantity"))
                & Q(pv=F("unit_pv") * F("quantity"))
                & Q(cv=F("unit_cv") * F("quantity")),
                name="order_line_totals_match_units",
            ),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=True, commission_month__isnull=True)
                | Q(paid_at__isnull=False, commission_month__isnull=False, commission_month__day=1),
                name="order_line_paid_has_commission_month",
            ),
        ]
        indexes = [
            models.Index(fields=["paid_at"], name="order_line_paid_at_idx"),
            models.Index(fields=["distributor", "paid_at"], name="order_line_by_distributor_idx"),
            # The volume service reads a period's lines by the month they count in.
            models.Index(fields=["commission_month"], name="order_line_month_idx"),
            models.Index(
                fields=["distributor", "commission_month"], name="order_line_by_dist_month_idx"
            ),
            models.Index(
                fields=["commission_week"],
                name="order_line_week_idx",
                condition=Q(commission_week__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class RefundReason(models.TextChoices):
    RETURN = "return", "Customer return"
    DAMAGED = "damaged", "Damaged or missing"
    ERROR = "error", "Order error"
    GOODWILL = "goodwill", "Goodwill"
    BUY_BACK = "buy_back", "Buy-back on termination"


class Refund(models.Model):
    """Money given back on an order, line by line; written by `orders.services` only."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    reason = models.CharField(max_length=16, choices=RefundReason.choices)
    note = models.TextField(blank=True)
    refunded_at = models.DateTimeField(default=timezone.now)
    commission_month = models.DateField(
        "commission period",
        editable=False,
        help_text="First day of the month the refund's negative volume counts in: the month of "
        "refunded_at while it is open, else the first open month after it.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("100"),
        help_text="Percent of the price given back (a buy-back pays less than 100).",
    )
    amount = models.DecimalField(**MONEY)
    pv = models.DecimalField("PV", **VOLUME)
    cv = models.DecimalField("CV", **VOLUME)

    class Meta:
        ordering = ["-refunded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gt=0, rate__lte=100), name="refund_rate_in_range"
            ),
        ]
        indexes = [models.Index(fields=["refunded_at"], name="refund_refunded_at_idx")]

    def __str__(self) -> str:
        return f"Refund #{self.pk} on order #{self.order_id}"


class RefundLine(models.Model):
    """A quantity of one order line given back. Volume and profit are taken back in full."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    pv = models.DecimalField("PV", **VOLUME)
    cv = models.DecimalField("CV", **VOLUME)
    retail_profit = models.DecimalField(**MONEY)
    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    purpose = models.CharField(max_length=16, choices=OrderPurpose.choices)
    refunded_at = models.DateTimeField()
    order_paid_at = models.DateTimeField()
    commission_month = models.DateField(editable=False)
    commission_week = models.DateField(null=True, blank=True, editable=False)  # as the line's

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_quantity_pos"),
            models.CheckConstraint(
                condition=Q(amount__gte=0, pv__gte=0, cv__gte=0), name="refund_line_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["refunded_at"], name="refund_line_refunded_at_idx"),
            models.Index(fields=["distributor", "refunded_at"], name="refund_line_by_dist_idx"),
            models.Index(fields=["commission_month"], name="refund_line_month_idx"),
            models.Index(
                fields=["distributor", "commission_month"], name="refund_line_by_dist_month_idx"
            ),
            models.Index(
                fields=["commission_week"],
                name="refund_line_week_idx",
                condition=Q(commission_week__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.name}"


class VolumeSummary(models.Model):
    """One distributor's net volume in one commission period, in integer cents.

    Paid order lines minus refund lines counting in `month`, split as `orders.volume` splits
    them; kept up to date by `orders.volume_summaries` in the same transaction as every payment
    and refund, rebuilt set-based by bulk writers, checked by `check_volume_summaries`. A row
    exists while any line or refund line counts in the month (its figures may be zero).
    """

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    month = models.DateField(help_text="First day of the commission period.")
    pv = models.BigIntegerField(default=0, help_text="Cents of PV.")
    cv = models.BigIntegerField(default=0, help_text="Cents of CV.")
    personal_pv = models.BigIntegerField(default=0)
    personal_cv = models.BigIntegerField(default=0)
    retail_pv = models.BigIntegerField(default=0)
    retail_cv = models.BigIntegerField(default=0)
    retail_sales = models.BigIntegerField(default=0)
    retail_profit = models.BigIntegerField(default=0)
    order_lines = models.IntegerField(default=0, help_text="Paid order lines counting here.")
    refund_lines = models.IntegerField(default=0, help_text="Refund lines counting here.")

    class Meta:
        constraints = [
            # Month first: a period's rows are one index range (and the upsert's target).
            models.UniqueConstraint(
                fields=["month", "distributor"], name="volume_summary_one_per_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="volume_summary_first_day"),
        ]

    def __str__(self) -> str:
        return f"Volume of {self.distributor_id} in {self.month:%Y-%m}"
