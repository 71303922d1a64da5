"""An axe-core audit (WCAG 2.1 A and AA rules) of every distributor page and every public page.

axe-core is vendored in static/vendor/axe-core/ (no network at test time) and injected by
Playwright into each page of the demo company, as its leader (a distributor with a downline)
sees it. The test fails listing every violation: rule, impact, page and the first elements.
"""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from commissions.models import LOCKED_STATUSES, CommissionPeriod
from genealogy.demo import DEMO_PASSWORD
from genealogy.models import Distributor
from messaging import services as messaging
from messaging.models import Message
from orders.models import Customer, Order
from tests.factories import house
from training.models import TrainingItem

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
LEADER = "leader@ladder.example"


def audit(page, path: str) -> list[str]:
    """Open the page, run axe on it and describe each violation in one line."""
    response = page.goto(path)
    assert response is not None and response.status < 400, f"{path} answered {response.status}"
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("options => axe.run(document, options)", WCAG_21_AA)
    assert result["passes"], f"axe checked nothing on {path}"
    lines = []
    for violation in result["violations"]:
        nodes = violation["nodes"]
        targets = ", ".join(" ".join(node["target"]) for node in nodes[:3])
        why = (nodes[0].get("failureSummary") or "").splitlines()[-1].strip() if nodes else ""
        lines.append(
            f"{path}: {violation['id']} ({violation['impact']}, {len(nodes)} elements): "
            f"{violation['help']} — e.g. {targets}: {why}"
        )
    return lines


@pytest.fixture
def demo_company(settings):
    settings.LADDER_ONLINE_PAYMENT_PROVIDER = "test"
    house()  # an earlier transactional test may have flushed the migration's copy
    call_command("seed_demo", distributors=150, order_months=3, commission_months=2)
    leader = Distributor.objects.select_related("user").get(user__email=LEADER)
    member = Distributor.objects.filter(sponsor=leader).order_by("id").first()
    messaging.message_send(sender=leader, subject="Welcome", body="**Hello** team", audience="all")
    return {
        "leader": leader,
        "member": member,
        "order": Order.objects.filter(distributor=leader).order_by("-id").first(),
        "customer": Customer.objects.filter(distributor=leader).order_by("id").first()
        or Customer.objects.create(distributor=leader, name="Carla Customer"),
        "period": CommissionPeriod.objects.filter(status__in=LOCKED_STATUSES)
        .order_by("-month")
        .first(),
        "item": TrainingItem.objects.order_by("id").first(),
        "message": Message.objects.get(sender=leader),
    }


def distributor_pages(company) -> list[str]:
    leader, member = company["leader"], company["member"]
    pages = [
        "/dashboard/",
        "/team/",
        "/team/list/",
        "/team/stats/",
        "/team/upline/",
        f"/team/member/{member.number}/",
        "/team/placement/",
        "/team/viewer/",
        "/team/viewer/?tree=placement",
        "/orders/",
        "/orders/new/",
        "/customers/",
        "/customers/new/",
        f"/customers/{company['customer'].pk}/",
        "/earnings/",
        "/training/",
        "/training/team/",
        "/training/career/",
        "/messages/",
        "/messages/send/",
        "/messages/sent/",
        f"/messages/m/{company['message'].pk}/",
        "/messages/preferences/",
        "/profile/",
        "/privacy/",
        "/income-disclosure/",
        "/policies/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        f"/join/{leader.referral_code}/",
    ]
    if company["order"] is not None:
        pages.append(f"/orders/{company['order'].pk}/")
    if company["period"] is not None:
        pages.append(f"/earnings/{company['period'].month:%Y-%m}/")
    if company["item"] is not None:
        pages.append(f"/training/{company['item'].pk}/")
    return pages


PUBLIC_PAGES = [
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/income-disclosure/",
    "/policies/",
]


def test_every_distributor_and_public_page_passes_an_axe_audit(browser, live_server, demo_company):
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    violations = []
    audited = []

    for path in [*PUBLIC_PAGES, f"/join/{demo_company['leader'].referral_code}/"]:
        violations += audit(page, path)
        audited.append(path)

    page.goto("/accounts/login/")
    page.fill("#id_login", LEADER)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    for path in distributor_pages(demo_company):
        violations += audit(page, path)
        audited.append(path)
    context.close()

    assert len(audited) >= 30
    assert not violations, f"{len(violations)} axe violations:\n" + "\n".join(violations)
