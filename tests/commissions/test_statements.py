"""Statement pages: private to their owner (staff see all), every line explained, 404 not 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from commissions.models import CommissionLine, LineKind
from commissions.services.close import close_period
from commissions.services.runs import calculate_period
from tests.commissions.conftest import PERIOD, build_chain
from tests.factories import PASSWORD, UserFactory, log_in_with_mfa, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def closed(db):
    chain = build_chain()
    make_plan_version()
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    return chain


def login(client, distributor_or_user):
    user = getattr(distributor_or_user, "user", distributor_or_user)
    assert client.login(email=user.email, password=PASSWORD)


def test_distributor_reads_their_own_statement_with_totals_and_lines(client, closed):
    login(client, closed.ann)

    page = client.get(reverse("earnings_statement", args=[str(PERIOD)]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "31.00 USD" in text
    assert "Unilevel level 3: 10 % of 200.00 CV from your team" in text
    assert client.get(reverse("earnings_home")).status_code == 200
    csv = client.get(reverse("earnings_statement_csv", args=[str(PERIOD)]))
    assert csv["Content-Type"].startswith("text/csv")
    assert "Unilevel,3," in csv.content.decode()


def test_unilevel_line_drills_down_to_the_source_and_the_skipped_upline(client, closed):
    login(client, closed.ann)
    line = CommissionLine.objects.get(earner=closed.ann, kind=LineKind.UNILEVEL, level=1)

    fragment = client.get(reverse("earnings_line", args=[str(PERIOD), line.pk]))

    assert fragment.status_code == 200
    assert (
        "5 % of 120.00 CV from Cal Diaz" in fragment.content.decode()
        and "level 1" in fragment.content.decode()
        and "Ben Ortiz was inactive and was skipped" in fragment.content.decode()
    )


def test_staff_reads_anyones_statement_by_number(client, closed):
    staff = UserFactory(is_staff=True)
    log_in_with_mfa(client, staff)

    page = client.get(
        reverse("earnings_statement", args=[str(PERIOD)]), {"number": closed.cal.number}
    )

    assert page.status_code == 200
    assert "Cal Diaz" in page.content.decode()


def _urls(chain, line_id):
    period = str(PERIOD)
    return [
        reverse("earnings_home"),
        reverse("earnings_statement", args=[period]),
        reverse("earnings_statement_csv", args=[period]),
        reverse("earnings_line", args=[period, line_id]),
    ]


@pytest.mark.parametrize("viewer", ["upline", "downline", "stranger"])
@pytest.mark.parametrize("url_index", [0, 1, 2, 3])
def test_anyone_elses_statement_is_a_404(client, closed, viewer, url_index):
    line = CommissionLine.objects.filter(earner=closed.cal).first()
    from tests.factories import make_distributor

    person = {"upline": closed.ann, "downline": closed.eve, "stranger": make_distributor()}[viewer]
    login(client, person)

    url = _urls(closed, line.pk)[url_index]
    assert client.get(url, {"number": closed.cal.number}).status_code == 404


def test_someone_elses_line_id_is_a_404_even_on_ones_own_statement(client, closed):
    login(client, closed.dee)
    others = CommissionLine.objects.get(earner=closed.ann, kind=LineKind.UNILEVEL, level=3)

    assert client.get(reverse("earnings_line", args=[str(PERIOD), others.pk])).status_code == 404


def test_periods_not_yet_closed_or_malformed_are_404(client, closed):
    login(client, closed.ann)
    assert client.get(reverse("earnings_statement", args=["2026-04"])).status_code == 404
    assert client.get(reverse("earnings_statement", args=["garbage"])).status_code == 404
    assert client.get("/earnings/2026-03/", {"number": "abc"}).status_code == 404


def test_earnings_home_runs_a_fixed_number_of_queries(
    client, closed, django_assert_max_num_queries
):
    login(client, closed.ann)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("earnings_home")).status_code == 200


def test_a_closed_statement_is_read_once_and_shows_a_new_name_at_once(client, closed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.fragments import names_generation

    generation = names_generation()
    login(client, closed.ann)  # a login saves only last_login: cached names stay valid
    assert names_generation() == generation
    url = reverse("earnings_statement", args=[str(PERIOD)])
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as context:
            assert "Ann Avery" in client.get(url).content.decode()
        counts.append(len(context.captured_queries))
    assert counts[1] < counts[0]  # the closed statement's lines are not read again

    closed.ann.user.name = "Ann Renamed"
    closed.ann.user.save()

    text = client.get(url).content.decode()
    assert "Ann Renamed" in text and "Ann Avery" not in text
