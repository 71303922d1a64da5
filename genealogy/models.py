from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django_countries.fields import CountryField
from mptt.models import MPTTModel, TreeForeignKey
from phonenumber_field.modelfields import PhoneNumberField

from . import downline_counts
from .labels import PLACEMENT_TREE, SPONSOR_TREE

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
    # Gapped nested-set labels (genealogy.labels): 64-bit, with room between neighbours so that
    # a placement writes only its own rows and, now and then, a small local window.
    lft = models.PositiveBigIntegerField(editable=False)
    rght = models.PositiveBigIntegerField(editable=False)
    tree_id = models.PositiveIntegerField(editable=False)
    level = models.PositiveIntegerField(editable=False)
    # People below in the placed sponsor tree, kept by the services (labels are gapped, so
    # (rght - lft) no longer tells it).
    descendants = models.PositiveIntegerField(default=0, db_default=0, editable=False)
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
    placement_rule = models.CharField(
        max_length=24,
        blank=True,
        default="",
        db_default="",
        help_text=(
            "How this sponsor's own recruits are placed in the placement tree, where the "
            "company lets sponsors choose; empty: the company's rule."
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
            # With django-mptt's (tree_id, lft): the label just before a point (a new last
            # child's place) and the counts of a relabel window read both columns by range.
            models.Index(fields=["tree_id", "rght"], name="distributor_tree_rght_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} (#{self.number})"

    @property
    def display_name(self) -> str:
        return self.user.name or self.user.email

    @property
    def is_placed(self) -> bool:
        return self.placed_at is not None

    @cached_property
    def downline_size(self) -> int:
        """People below this one in the placed tree: the stored count and the waiting count
        rows inside it (`genealogy.downline_counts`; `selectors.prime_downline_sizes` reads
        many at once)."""
        if not self.is_placed:
            return 0
        return downline_counts.people_below(SPONSOR_TREE, self.lft, self.rght, self.descendants)

    # django-mptt derives these from (rght - lft), which gapped labels no longer tell.
    def get_descendant_count(self) -> int:
        return self.downline_size

    def is_leaf_node(self) -> bool:
        return not self.get_descendant_count()

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
    ENROLLMENT = "enrollment", "Enrollment (sign-up)"
    PLACEMENT = "placement", "Placement"
    MOVE = "move", "Move"
    TERMINATE_ROLLUP = "terminate_rollup", "Roll-up at a termination"
    COMPRESSION = "compression", "Compression"
    IMPORT = "import", "Import"
    TERMINATION = "termination", "Termination"


class TreeKind(models.TextChoices):
    SPONSOR = "sponsor", "Sponsor (enrollment) tree"
    PLACEMENT = "placement", "Placement tree"


class DownlineCountDelta(models.Model):
    """People added below a node (and so below every ancestor of it) that its stored
    `descendants`, and its ancestors', do not count yet.

    A placement batch or a move writes one row per parent it touched, so its cost does not
    grow with the depth of the tree; `genealogy.downline_counts.fold` adds the rows to the
    stored counts of the nodes and all their ancestors in one set-based pass (a task, every
    minute and after each batch) and deletes them. Readers add the rows inside a node's
    interval to its stored count, so counts are exact at any moment.
    """

    tree = models.CharField(max_length=16, choices=TreeKind.choices)
    node_id = models.BigIntegerField()
    delta = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["tree", "node_id"], name="countdelta_tree_node_idx")]

    def __str__(self) -> str:
        return f"{self.tree} {self.node_id}: {self.delta:+d}"


class TreeChange(models.Model):
    """The one history of both trees: every change of a sponsor or a placement, append-only.

    `at` is when it was recorded; `effective_at` the moment from which the tree has the new
    parent (a staff move may be backdated into an open period). The tree as it stood at any
    moment is the present tree with the later changes undone (`genealogy.history`). Rows are
    never updated or deleted: the admin is read-only and, on PostgreSQL, a trigger refuses
    UPDATE and DELETE on the table (migration 0004).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    effective_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for changes made by the system.",
    )
    tree = models.CharField(max_length=16, choices=TreeKind.choices, default=TreeKind.SPONSOR)
    kind = models.CharField(max_length=24, choices=TreeChangeKind.choices)
    distributor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, related_name="tree_changes"
    )
    # The parent in `tree` before and after (empty before: the person was not in that tree).
    old_parent = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_parent = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Placement tree only: the leg (binary 0 left, 1 right) or matrix position, before and after.
    old_position = models.PositiveSmallIntegerField(null=True, blank=True)
    new_position = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="tree_change_has_reason"),
        ]
        indexes = [
            # The tree as of a moment undoes the changes after it: read by (tree, effective_at).
            models.Index(fields=["tree", "effective_at"], name="tree_change_effective_idx"),
            models.Index(fields=["distributor", "effective_at"], name="tree_change_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.distributor_id} at {self.at:%Y-%m-%d %H:%M}"


class PlacementPosition(models.IntegerChoices):
    LEFT = 0, "Left"
    RIGHT = 1, "Right"


class Placement(models.Model):
    """A distributor's node in the placement tree (binary and matrix plans), or their wait in
    the holding tank (`placed_at` empty).

    Separate from the sponsor tree: the sponsor still enrolls the person, who is placed under
    someone in the sponsor's placement downline. The labels (`lft`, `rght`) are gapped nested-set
    intervals kept by `genealogy.labels`, like the sponsor tree's. Only genealogy's placement
    services write these rows.
    """

    distributor = models.OneToOneField(
        Distributor, on_delete=models.PROTECT, primary_key=True, related_name="placement"
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        db_index=False,  # indexed with the position by the constraint below
    )
    # Binary: 0 left, 1 right. Matrix: 0 .. width - 1, left to right.
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    lft = models.PositiveBigIntegerField(null=True, blank=True)
    rght = models.PositiveBigIntegerField(null=True, blank=True)
    level = models.PositiveIntegerField(null=True, blank=True)
    descendants = models.PositiveIntegerField(default=0, db_default=0)
    child_count = models.PositiveSmallIntegerField(default=0, db_default=0)
    # The top of the run of outermost-left (position 0) steps this node is on, and of
    # outermost-right steps: the outermost node of a leg is the deepest one sharing its top.
    outer_left_top = models.BigIntegerField(null=True, blank=True)
    outer_right_top = models.BigIntegerField(null=True, blank=True)
    entered_tank_at = models.DateTimeField(default=timezone.now)
    tank_deadline = models.DateTimeField(null=True, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rule = models.CharField(max_length=24, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "position"],
                condition=Q(parent__isnull=False),
                name="placement_one_per_position",
            ),
            models.CheckConstraint(
                condition=Q(placed_at__isnull=True) | Q(lft__isnull=False, rght__isnull=False),
                name="placement_placed_has_labels",
            ),
        ]
        indexes = [
            models.Index(fields=["lft"], condition=Q(lft__isnull=False), name="placement_lft_idx"),
            models.Index(
                fields=["rght"], condition=Q(rght__isnull=False), name="placement_rght_idx"
            ),
            models.Index(fields=["outer_left_top", "level"], name="placement_outer_left_idx"),
            models.Index(fields=["outer_right_top", "level"], name="placement_outer_right_idx"),
            models.Index(
                fields=["tank_deadline"],
                condition=Q(placed_at__isnull=True),
                name="placement_tank_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"placement of {self.distributor_id}"

    @cached_property
    def downline_size(self) -> int:
        """People below this node in the placement tree: the stored count and the waiting
        count rows inside it (`genealogy.downline_counts`)."""
        if self.lft is None:
            return 0
        return downline_counts.people_below(PLACEMENT_TREE, self.lft, self.rght, self.descendants)

    @property
    def is_placed(self) -> bool:
        return self.placed_at is not None
