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

FIRST_MONTH_ARTICLE = """\
Welcome! Your dashboard's **first steps** card ticks itself as you go; here is the order that
works best.

1. **Week 1: set up.** Verify your email, turn on two-factor authentication, and complete your
   profile. Read the required compliance article before you sell to anyone.
2. **Week 2: your own use.** Order what you use yourself, so you can speak about it honestly.
3. **Week 3: your first customers.** Add the people you sell to in **Customers** and enter
   their orders: retail sales are what the company pays on.
4. **Week 4: share.** Copy your referral link from your profile for people who want to join.

Questions? Your sponsor is named on your dashboard: write to them any time.
"""

HOW_YOU_ARE_PAID_ARTICLE = """\
**PV** (personal volume) counts your own orders and your customers' orders. With enough PV in a
month you are **qualified** for that month, and earn on your team's sales.

**CV** (commissionable volume) is what percentages are paid on. Each month's **statement**
lists every line with its source: whose order, which level, and why anyone was skipped.

A month is paid once the company closes it, a few days after it ends.
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
            title="Your first 30 days",
            summary="For new distributors: what to do in your first month, step by step.",
            category=TrainingCategory.TEAM_BUILDING,
            kind=TrainingKind.ARTICLE,
            body=FIRST_MONTH_ARTICLE,
            order=1,
        ),
        TrainingItem(
            title="How you are paid",
            summary="PV, CV, being qualified for the month, and reading your statement.",
            category=TrainingCategory.SELLING,
            kind=TrainingKind.ARTICLE,
            body=HOW_YOU_ARE_PAID_ARTICLE,
            order=3,
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
