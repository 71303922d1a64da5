"""The whole journey in a real browser, from a referral link to a line on a statement."""

import re
import time
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core import mail
from django.utils import timezone

from commissions.models import CommissionPeriod
from commissions.services.close import close_period
from commissions.services.periods import closable_from, period_row
from core.periods import Period
from genealogy.models import Distributor
from orders.models import Order
from tests.factories import (
    PASSWORD,
    ProductFactory,
    UserFactory,
    buy,
    make_distributor,
    make_plan_version,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NEW_PASSWORD = "violet-harbour-1987"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def watch_console(page, errors: list) -> None:
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and errors.append(f"{message.text} at {message.location.get('url')} on {page.url}")
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: (
            "ERR_ABORTED" not in (request.failure or "")
            and errors.append(f"{request.failure}: {request.url}")
        ),
    )


def tab_to(page, element_id: str, presses: int = 60) -> None:
    """Move the focus with the Tab key only, until it reaches the element."""
    for _ in range(presses):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"#{element_id} cannot be reached with the keyboard")


def current_totp_code() -> str:
    return format_hotp_value(hotp_value(STAFF_SECRET, int(time.time()) // 30))


@pytest.fixture
def company(settings):
    settings.LADDER_ONLINE_PAYMENT_PROVIDER = "test"
    make_plan_version()
    sponsor = make_distributor(name="Maria Lopez", email="maria@example.com")
    buy(sponsor, "100", paid_at=timezone.now())  # Maria is active this month
    product = ProductFactory(
        name="Vitality Shake",
        sku="SHAKE-1",
        pv=Decimal("50"),
        cv=Decimal("50"),
        wholesale_price=Decimal("40.00"),
        retail_price=Decimal("55.00"),
    )
    staff = UserFactory(email="sam@example.com", name="Sam Staff", is_staff=True, is_superuser=True)
    TOTP.activate(staff, STAFF_SECRET)
    return {"sponsor": sponsor, "product": product, "staff": staff}


def test_join_order_close_and_read_the_statement(
    browser, live_server, celery_worker_queue, company, artifacts
):
    base = live_server.url
    sponsor = company["sponsor"]
    errors: list[str] = []

    # A person joins through Maria's referral link, using the keyboard only.
    newcomer = browser.new_context(viewport=PHONE)
    page = newcomer.new_page()
    watch_console(page, errors)
    page.goto(f"{base}/join/{sponsor.referral_code}/")
    assert "You are joining Maria Lopez's team." in page.inner_text("[data-testid=sponsor-banner]")
    for field_id, text in [
        ("id_name", "Nina Novak"),
        ("id_email", "nina@example.com"),
        ("id_password1", NEW_PASSWORD),
        ("id_password2", NEW_PASSWORD),
    ]:
        tab_to(page, field_id)
        page.keyboard.type(text)
    tab_to(page, "id_country")
    page.keyboard.type("United States")
    for checkbox in ("id_accept_policies", "id_accept_income_disclosure"):
        tab_to(page, checkbox)
        page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/confirm-email/")

    # She reads the verification email and confirms her address.
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/dashboard/")
    nina = Distributor.objects.get(user__email="nina@example.com")
    assert nina.sponsor_id == sponsor.pk
    wait_until(lambda: Distributor.objects.get(pk=nina.pk).is_placed, what="placement by Celery")

    # She adds a customer and sells them two shakes, paid at once.
    page.goto(f"{base}/customers/new/")
    page.fill("#id_name", "Carl Customer")
    page.fill("#id_email", "carl@example.com")
    page.get_by_role("button", name=re.compile("Save|Add")).click()
    page.goto(f"{base}/orders/new/")
    page.check("#buyer_customer")
    page.select_option("#id_customer", label="Carl Customer · carl@example.com")
    page.fill(f"#qty_{company['product'].pk}", "2")
    page.wait_for_function("document.querySelector('#totals').innerText.includes('100')")
    page.get_by_role("button", name="Review order").click()
    page.get_by_role("button", name="Place order").click()
    page.get_by_role("button", name="Pay now").click()
    order = Order.objects.get(distributor=nina)
    wait_until(lambda: Order.objects.get(pk=order.pk).paid_at is not None, what="payment")

    # Staff log in with their authenticator code, calculate and close the month.
    period = Period.current()
    period_row(period)
    office = browser.new_context(viewport=LAPTOP)
    admin = office.new_page()
    watch_console(admin, errors)
    admin.goto(f"{base}/accounts/login/")
    admin.fill("#id_login", "sam@example.com")
    admin.fill("#id_password", PASSWORD)
    admin.get_by_role("button", name="Sign In").click()
    admin.wait_for_url("**/accounts/2fa/authenticate/")
    admin.fill("#id_code", current_totp_code())
    admin.get_by_role("button", name=re.compile("Sign In|Verify", re.I)).click()
    changelist = f"{base}/admin/commissions/commissionperiod/"

    def run_action(action: str) -> None:
        admin.goto(changelist)
        admin.check("input.action-select")
        admin.select_option("select[name=action]", action)
        admin.get_by_role("button", name="Go").click()

    run_action("calculate")
    wait_until(
        lambda: CommissionPeriod.objects.get(month=period.first_day).status == "calculated",
        timeout=120,
        what="the calculation by the worker",
    )
    # The running month cannot be closed yet: the admin says from when it can.
    run_action("close")
    assert "cannot be closed before" in admin.inner_text(".messagelist")
    assert CommissionPeriod.objects.get(month=period.first_day).status == "calculated"
    # Once the month has ended and its grace period passed, the same service closes it.
    close_period(period=period, now=closable_from(period))
    assert CommissionPeriod.objects.get(month=period.first_day).status == "closed"

    # Maria opens her statement and sees the line from Nina's order, with its level.
    maria = browser.new_context(viewport=PHONE)
    statement = maria.new_page()
    watch_console(statement, errors)
    statement.goto(f"{base}/accounts/login/")
    statement.fill("#id_login", "maria@example.com")
    statement.fill("#id_password", PASSWORD)
    statement.get_by_role("button", name="Sign In").click()
    statement.wait_for_url("**/dashboard/")
    statement.goto(f"{base}/earnings/{period.first_day:%Y-%m}/")
    statement.get_by_role("button", name="Explain").first.click()
    detail = statement.locator("text=from Nina Novak")
    detail.wait_for()
    assert "level 1" in detail.first.inner_text()
    assert "5 % of 100.00 CV" in detail.first.inner_text()

    # The dashboard on a phone and on a laptop, kept as artifacts.
    statement.goto(f"{base}/dashboard/")
    statement.screenshot(path=str(artifacts / "dashboard-390x844.png"), full_page=True)
    statement.set_viewport_size(LAPTOP)
    statement.screenshot(path=str(artifacts / "dashboard-1280x800.png"), full_page=True)

    assert errors == [], "\n".join(errors)
