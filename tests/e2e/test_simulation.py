"""A plan simulation in a real browser: staff queue it in the admin, a real worker runs it, and
the page (htmx, polling) turns from the progress bar into the comparison by itself."""

import copy
import datetime as dt
import re
import time
import uuid

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from commissions.models import PlanSimulation
from commissions.services.close import closable_from, close_period
from commissions.services.runs import calculate_period
from tests.celery_worker import start_worker, stop_worker
from tests.commissions.conftest import PERIOD, build_chain
from tests.e2e.test_journey import LAPTOP, watch_console
from tests.factories import COMMISSION_TEST_PLAN, PASSWORD, UserFactory, make_plan_version

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def task_queue(live_server):
    """A queue of its own that the app sends every task to; the test starts its worker."""
    from config.celery import app

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = f"e2e-{uuid.uuid4().hex[:8]}"
    yield app.conf.task_default_queue
    app.conf.task_default_queue = previous


def test_staff_queue_a_simulation_and_watch_it_finish(browser, live_server, task_queue):
    # Given March closed with the test plan (paid 56.00) and a draft doubling level 1 (77.00)
    build_chain()
    make_plan_version()
    calculate_period(period=PERIOD)
    close_period(period=PERIOD, now=closable_from(PERIOD))
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["name"] = "Doubled level 1"
    document["unilevel"] = {"percents": ["10", "5", "10"]}
    draft = make_plan_version(document, effective_from=dt.date(2026, 4, 1))
    staff = UserFactory(email="sim@example.com", is_staff=True, is_superuser=True)
    TOTP.activate(staff, SECRET)
    errors: list[str] = []
    page = browser.new_context(viewport=LAPTOP).new_page()
    watch_console(page, errors)
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", "sim@example.com")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("#id_code", format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))
    page.get_by_role("button", name=re.compile("Sign In|Verify", re.I)).click()

    # When they pick the month and submit
    page.goto(f"{base}/admin/commissions/planversion/{draft.pk}/simulate/")
    page.select_option("#id_period", "2026-03")
    page.get_by_role("button", name="Simulate").click()

    # Then the simulation's page shows it queued (no worker yet), and once a worker runs it the
    # page follows it to the end without a reload
    simulation = PlanSimulation.objects.get()
    page.wait_for_url(f"**/admin/commissions/planversion/simulations/{simulation.pk}/")
    status = page.get_by_test_id("simulation-status")
    assert "Queued" in status.inner_text()
    worker = start_worker(task_queue)
    try:
        status.get_by_text("Biggest winners").wait_for(timeout=120_000)
    finally:
        stop_worker(worker)
    text = status.inner_text()
    assert "56.00" in text and "77.00" in text and "21.00" in text and "14.81" in text
    assert PlanSimulation.objects.get().status == "done"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename == f"simulation-v{draft.pk}-2026-03.csv"
    assert not errors, errors
