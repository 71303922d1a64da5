"""The admin's move asks when it takes effect and lists the open periods it changes."""

import datetime as dt

import pytest
from django.urls import reverse

from core.periods import company_zone
from genealogy.models import Distributor, TreeChange, TreeChangeKind, TreeKind
from tests.factories import (
    UserFactory,
    closed_period_with_results,
    house,
    log_in_with_mfa,
    make_distributor,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(clock, client):
    """a and b joined on February 1; February is closed; today is March 20 (company time)."""
    a, b = make_distributor(), make_distributor()
    closed_period_with_results(dt.date(2026, 2, 1), {})
    clock.set(dt.datetime(2026, 3, 20, 15, tzinfo=dt.UTC))
    staff = UserFactory(is_staff=True, is_superuser=True, name="Sam Staff")
    log_in_with_mfa(client, staff)
    return a, b, staff


def move_url(person: Distributor) -> str:
    return reverse("admin:genealogy_distributor_move", args=[person.pk])


def test_a_backdated_move_lists_the_open_periods_it_changes_then_records_the_moment(
    client, company
):
    a, b, staff = company
    data = {
        "new_sponsor": b.pk,
        "takes_effect": "backdated",
        "effective_at": "2026-03-05T10:00",
        "reason": "Agreed on March 5",
    }
    # When staff ask for a move backdated to March 5, the confirmation names March only
    html = client.post(move_url(a), data).content.decode()
    assert "March 2026" in html and "(backdated)" in html
    assert "February 2026" not in html
    assert Distributor.objects.get(pk=a.pk).sponsor_id == house().pk
    # And when they confirm, it is recorded effective from that moment, in the company's zone
    response = client.post(move_url(a), {**data, "confirmed": "yes"})
    assert response.status_code == 302
    change = TreeChange.objects.get(kind=TreeChangeKind.MOVE)
    assert change.effective_at == dt.datetime(2026, 3, 5, 10, tzinfo=company_zone())
    assert (change.tree, change.by, change.new_parent_id) == (TreeKind.SPONSOR, staff, b.pk)
    assert Distributor.objects.get(pk=a.pk).sponsor_id == b.pk


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ("2026-02-20T10:00", "February 2026 is closed"),
        ("2026-03-25T10:00", "future"),
        ("", "Give the moment"),
        ("not a date", "Enter a valid date/time"),
    ],
)
def test_a_backdated_move_outside_an_open_period_is_refused(client, company, moment, message):
    a, b, _ = company
    data = {
        "new_sponsor": b.pk,
        "takes_effect": "backdated",
        "effective_at": moment,
        "reason": "Too late",
        "confirmed": "yes",
    }
    response = client.post(move_url(a), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TreeChange.objects.filter(kind=TreeChangeKind.MOVE).exists()
    assert Distributor.objects.get(pk=a.pk).sponsor_id == house().pk


def test_a_move_now_changes_the_running_month_only(client, company):
    a, b, _ = company
    data = {"new_sponsor": b.pk, "takes_effect": "now", "reason": "Asked today"}
    html = client.post(move_url(a), data).content.decode()
    assert "March 2026" in html and "<strong>now</strong>" in html
    client.post(move_url(a), {**data, "confirmed": "yes"})
    change = TreeChange.objects.get(kind=TreeChangeKind.MOVE)
    assert change.effective_at == change.at == dt.datetime(2026, 3, 20, 15, tzinfo=dt.UTC)


def test_the_history_admin_shows_the_tree_the_kind_and_the_effective_moment(client, company):
    a, b, _ = company
    url = reverse("admin:genealogy_treechange_changelist")
    html = client.get(url, {"tree__exact": "sponsor", "kind__exact": "enrollment"}).content
    html = html.decode()
    assert "Sponsor (enrollment) tree" in html and "Enrollment (sign-up)" in html
    assert "effective" in html.lower()
    # And a distributor's page links to their history
    change_page = client.get(reverse("admin:genealogy_distributor_change", args=[a.pk]))
    assert f"distributor__id__exact={a.pk}" in change_page.content.decode()
