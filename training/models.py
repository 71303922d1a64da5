"""The training library, what each distributor finished, and the "shared my link" event.

Staff publish items in the admin. A distributor sees an item when it is published and its
audience includes them (everyone, or from a rank upward: see `training.selectors`). The
onboarding checklist is computed from the database (see `training.selectors`); the only row
written for it is `ReferralShare`, the moment someone first copied their referral link.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

PDF_SIGNATURE = b"%PDF"


def pdf_max_bytes() -> int:
    return settings.LADDER_TRAINING_PDF_MAX_MB * 1024 * 1024


def validate_pdf_file(upload) -> None:
    """A PDF by its first bytes (not only its name), at most LADDER_TRAINING_PDF_MAX_MB."""
    limit = pdf_max_bytes()
    if upload.size and upload.size > limit:
        raise ValidationError(
            f"The file is larger than {limit // (1024 * 1024)} MB: upload a smaller PDF."
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(len(PDF_SIGNATURE))
    upload.seek(position)
    if head != PDF_SIGNATURE:
        raise ValidationError("The file is not a PDF document (it does not start with %PDF).")


class TrainingCategory(models.TextChoices):
    PRODUCT = "product", "Product"
    SELLING = "selling", "Selling"
    TEAM_BUILDING = "team_building", "Team building"
    COMPLIANCE = "compliance", "Compliance"


class TrainingKind(models.TextChoices):
    VIDEO = "video", "Video link"
    PDF = "pdf", "PDF document"
    ARTICLE = "article", "Article"


class TrainingItem(models.Model):
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    category = models.CharField(max_length=16, choices=TrainingCategory.choices)
    kind = models.CharField(max_length=16, choices=TrainingKind.choices)
    video_url = models.URLField(
        "video link",
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="For a video: its address (https://…).",
    )
    pdf = models.FileField(
        "PDF",
        upload_to="training/",
        blank=True,
        validators=[FileExtensionValidator(["pdf"]), validate_pdf_file],
        help_text="For a PDF: the document (PDF only; see LADDER_TRAINING_PDF_MAX_MB).",
    )
    body = models.TextField(
        blank=True, help_text="For an article: the text, in Markdown (HTML is cleaned)."
    )
    min_rank_code = models.CharField(
        "audience",
        max_length=32,
        blank=True,
        help_text="Empty: everyone. Else the code of the lowest rank (of the current plan) "
        "that sees it, by the highest rank a person reached in a closed period.",
    )
    is_required = models.BooleanField("required", default=False)
    order = models.PositiveIntegerField(default=0, help_text="Lower numbers come first.")
    is_published = models.BooleanField("published", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "order", "title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="video") | ~Q(video_url=""), name="training_video_has_url"
            ),
            models.CheckConstraint(
                condition=~Q(kind="pdf") | ~Q(pdf=""), name="training_pdf_has_file"
            ),
            models.CheckConstraint(
                condition=~Q(kind="article") | ~Q(body=""), name="training_article_has_body"
            ),
        ]
        indexes = [
            models.Index(
                fields=["is_published", "category", "order"], name="training_item_list_idx"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        missing = {
            TrainingKind.VIDEO: ("video_url", "Give the video's link."),
            TrainingKind.PDF: ("pdf", "Upload the PDF document."),
            TrainingKind.ARTICLE: ("body", "Write the article's text."),
        }.get(self.kind)
        if missing and not getattr(self, missing[0]):
            raise ValidationError({missing[0]: missing[1]})


class TrainingCompletion(models.Model):
    """A distributor marked an item done (once: unique per person and item)."""

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.CASCADE, related_name="training_completions"
    )
    item = models.ForeignKey(TrainingItem, on_delete=models.CASCADE, related_name="completions")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-completed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "item"], name="training_completion_once_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.distributor_id} finished {self.item_id}"


class ReferralShare(models.Model):
    """The first time a distributor copied their referral link (the share card's button)."""

    distributor = models.OneToOneField(
        "genealogy.Distributor", on_delete=models.CASCADE, related_name="referral_share"
    )
    first_shared_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.distributor_id} shared their link"
