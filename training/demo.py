"""Demo training library: a required compliance article and a few optional items."""

from .models import TrainingCategory, TrainingItem, TrainingKind

COMPLIANCE_ARTICLE = """\
## What you may say, and what you may not

**Income claims.** Never promise or suggest earnings. Point people to the company's
[income disclosure statement](/income-disclosure/): most participants earn little or nothing.

**Product claims.** Describe products only with the words on the label and in the catalog.
No health or cure claims.

**Recruiting.** You are paid on product sales to real customers, never for enrolling people.
Do not encourage anyone to buy inventory to qualify for a rank.
"""


def seed_training() -> int:
    if TrainingItem.objects.exists():
        return 0
    items = [
        TrainingItem(
            title="Income claims and product claims you may not make",
            summary="Required before your first sale to a retail customer.",
            category=TrainingCategory.COMPLIANCE,
            kind=TrainingKind.ARTICLE,
            body=COMPLIANCE_ARTICLE,
            is_required=True,
            order=1,
        ),
        TrainingItem(
            title="Your first five customers",
            summary="Who to talk to first, and how to follow up without pressure.",
            category=TrainingCategory.SELLING,
            kind=TrainingKind.ARTICLE,
            body="1. Start with people who already use products like ours.\n"
            "2. Offer a sample, not a pitch.\n3. Follow up once, a week later.",
            order=2,
        ),
        TrainingItem(
            title="The product range in ten minutes",
            summary="A short video tour of the catalog.",
            category=TrainingCategory.PRODUCT,
            kind=TrainingKind.VIDEO,
            video_url="https://video.example.com/product-range",
            order=3,
        ),
    ]
    TrainingItem.objects.bulk_create(items)
    return len(items)
