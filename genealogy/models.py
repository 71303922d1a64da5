from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_countries.fields import CountryField
from mptt.models import MPTTModel, TreeForeignKey
from phonenumber_field.modelfields import PhoneNumberField

# The tree fields are written only by genealogy.services (set-based renumbering).
TREE_FIELDS = ("parent", "lft", "rght", "tree_id", "level")
# Never written by a plain save() of an existing row either: a stale copy in memory must not
# undo a move (services change the sponsor with a set-based UPDATE and record it).
SERVICE_ONLY_FIELDS = (*TREE_FIELDS, "sponsor")
PENDING_TREE_ID = 0
COMPANY_TREE_ID = 1


class DistributorStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    TERMINATED = "terminated", "Terminated"


class Distributor(MPTTModel):
    """The business identity of a person in the company.

    `sponsor` (who enrolled them) is the truth. The nested-set fields (`parent`, `lft`, `rght`,
    `tree_id`, `level`) are derived from it by the placement service: a new distributor waits in
    tree 0 ("pending placement") until a batch places them under their sponsor.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="distributor"
    )
    number = models.PositiveBigIntegerField("distributor number", unique=True)
    # Unique through a constraint, not unique=True: no extra LIKE index to maintain on writes.
    referral_code = models.CharField(max_length=16)
    sponsor = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="enrollees"
    )
    parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="placed_children",
        editable=False,
        db_index=False,  # children are read through `sponsor`, which is indexed
    )
    # The nested-set fields, declared here so that only (tree_id, lft) is indexed: every
    # placement rewrites lft/rght of much of the tree, and each index makes that slower.
    lft = models.PositiveIntegerField(editable=False)
    rght = models.PositiveIntegerField(editable=False)
    tree_id = models.PositiveIntegerField(editable=False)
    level = models.PositiveIntegerField(editable=False)
    status = models.CharField(
        max_length=16, choices=DistributorStatus.choices, default=DistributorStatus.ACTIVE
    )
    joined_on = models.DateField(default=timezone.localdate)
    country = CountryField(blank=True)
    phone = PhoneNumberField(max_length=32, blank=True)  # E.164
    share_phone_with_team = models.BooleanField(
        default=False, help_text="Show my phone number to the people I enrolled."
    )
    # How this person is paid. A database default too, so the bulk writers (COPY in the import
    # and the demo seed) need not name these columns, and adding them rewrites no table.
    payout_method = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",
        help_text="One of LADDER_PAYOUT_METHODS; empty: the company's default method.",
    )
    payout_account = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text=(
            "The account the payment provider pays, e.g. a PayPal email or the provider's "
            "recipient reference — never a card number."
        ),
    )
    is_house = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    placed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class MPTTMeta:
        parent_attr = "parent"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral_code"], name="distributor_referral_code_unique"
            ),
            models.CheckConstraint(
                condition=~Q(sponsor=F("id")), name="distributor_not_own_sponsor"
            ),
            models.CheckConstraint(
                condition=Q(is_house=True) | Q(sponsor__isnull=False),
                name="distributor_has_sponsor_unless_house",
            ),
            models.UniqueConstraint(
                fields=["is_house"], condition=Q(is_house=True), name="distributor_one_house"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(placed_at__isnull=True),
                name="distributor_pending_idx",
            ),
            # "Newest first" in a downline (dashboard, team list) walks this until it has
            # enough people inside the range, instead of sorting the whole downline.
            models.Index(fields=["-joined_on", "id"], name="distributor_joined_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} (#{self.number})"

    @property
    def display_name(self) -> str:
        return self.user.name or self.user.email

    @property
    def is_placed(self) -> bool:
        return self.placed_at is not None

    @property
    def downline_size(self) -> int:
        """People below this one in the placed tree (nested-set arithmetic, no query)."""
        return (self.rght - self.lft - 1) // 2 if self.is_placed else 0

    def save(self, *args, **kwargs) -> None:
        # An existing row never writes its tree fields (nor its sponsor) from memory: they may
        # be stale while a placement batch or a move runs. Only genealogy.services writes them.
        if self.pk and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in SERVICE_ONLY_FIELDS
            ]
            return models.Model.save(self, *args, **kwargs)
        return super().save(*args, **kwargs)


class TreeChangeKind(models.TextChoices):
    MOVE = "move", "Move"
    TERMINATE_ROLLUP = "terminate_rollup", "Roll-up at a termination"
    IMPORT = "import", "Import"
    TERMINATION = "termination", "Termination"


class TreeChange(models.Model):
    """Append-only audit of every change to the genealogy made by staff or the system.

    Rows are never updated or deleted: the admin is read-only and, on PostgreSQL, a trigger
    refuses UPDATE and DELETE on the table (migration 0004).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for changes made by the system.",
    )
    kind = models.CharField(max_length=24, choices=TreeChangeKind.choices)
    distributor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, related_name="tree_changes"
    )
    old_sponsor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_sponsor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="tree_change_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.distributor_id} at {self.at:%Y-%m-%d %H:%M}"
