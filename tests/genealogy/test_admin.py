import pytest
from django.urls import reverse

from genealogy.models import Distributor, DistributorStatus, TreeChange, TreeChangeKind
from genealogy.services import move_distributor
from tests.factories import (
    UserFactory,
    assert_tree_matches_sponsor_links,
    house,
    log_in_with_mfa,
    make_chain,
    make_distributor,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, name="Sam Staff")
    log_in_with_mfa(client, user)
    return user


def change_url(distributor: Distributor) -> str:
    return reverse("admin:genealogy_distributor_change", args=[distributor.pk])


def fresh(distributor: Distributor) -> Distributor:
    return Distributor.objects.get(pk=distributor.pk)


# --- List and search --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["number", "code", "email", "email_prefix", "name_prefix"])
def test_search_finds_a_person_by_indexed_lookups(client, staff, how):
    person = make_distributor(email="Zoe.Quartz@example.com", name="Zoe Quartz")
    make_distributor(email="other@example.com", name="Other Person")
    term = {
        "number": str(person.number),
        "code": person.referral_code.lower(),
        "email": "zoe.quartz@EXAMPLE.com",
        "email_prefix": "zoe.qu",
        "name_prefix": "zoe q",
    }[how]
    response = client.get(reverse("admin:genealogy_distributor_changelist"), {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [person]


def test_the_list_page_does_a_fixed_number_of_queries(client, staff, django_assert_max_num_queries):
    for _ in range(5):
        make_distributor()
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:genealogy_distributor_changelist"))
    assert response.status_code == 200


def test_the_sponsor_autocomplete_answers_searches(client, staff):
    person = make_distributor(name="Auto Complete")
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "genealogy",
            "model_name": "distributor",
            "field_name": "sponsor",
            "term": str(person.number),
        },
    )
    assert [r["id"] for r in response.json()["results"]] == [str(person.pk)]


# --- Add and change ---------------------------------------------------------------------------


def test_adding_a_distributor_goes_through_the_sign_up_service(client, staff):
    sponsor = make_distributor()
    user = UserFactory()
    response = client.post(
        reverse("admin:genealogy_distributor_add"),
        {
            "user": user.pk,
            "sponsor": sponsor.pk,
            "country": "CA",
            "phone": "",
            "joined_on": "2026-01-05",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Distributor.objects.get(user=user)
    assert created.sponsor_id == sponsor.pk and created.number and created.referral_code
    assert not created.is_placed  # waits for placement like any sign-up
    assert str(created.joined_on) == "2026-01-05"


def test_the_change_form_cannot_touch_the_sponsor_or_the_tree(client, staff):
    chain = make_chain(2)
    other = make_distributor()
    before = fresh(chain[1])
    response = client.get(change_url(chain[1]))
    form = response.context["adminform"].form
    assert not {"sponsor", "parent", "lft", "rght", "tree_id", "level", "status"} & set(form.fields)
    client.post(
        change_url(chain[1]),
        {
            "joined_on": "2025-02-02",
            "country": "US",
            "phone": "(201) 555-0123",
            "sponsor": other.pk,
            "lft": 999,
            "level": 7,
        },
    )
    after = fresh(chain[1])
    assert after.phone == "+12015550123"
    assert (after.sponsor_id, after.lft, after.level) == (
        before.sponsor_id,
        before.lft,
        before.level,
    )


def test_payout_details_are_shown_read_only_to_staff(client, staff):
    person = make_distributor()
    Distributor.objects.filter(pk=person.pk).update(
        payout_method="paypal", payout_account="payee@example.net"
    )

    response = client.get(change_url(person))
    client.post(
        change_url(person),
        {
            "joined_on": "2025-02-02",
            "country": "US",
            "phone": "",
            "payout_method": "check",
            "payout_account": "staff-typed",
        },
    )

    form = response.context["adminform"].form
    assert not {"payout_method", "payout_account"} & set(form.fields)
    html = response.content.decode()
    assert "payee@example.net" in html and "Payout method" in html
    after = fresh(person)
    assert (after.payout_method, after.payout_account) == ("paypal", "payee@example.net")


def test_distributors_cannot_be_deleted_in_the_admin(client, staff):
    person = make_distributor()
    url = reverse("admin:genealogy_distributor_delete", args=[person.pk])
    assert client.get(url).status_code == 403


# --- Move -------------------------------------------------------------------------------------


def test_a_move_is_confirmed_with_the_number_of_people_moving_then_recorded(client, staff):
    # Given a leg of three and another sponsor
    leg = make_chain(3)
    target = make_distributor()
    url = reverse("admin:genealogy_distributor_move", args=[leg[0].pk])
    assert client.get(url).status_code == 200
    # When staff choose the new sponsor, the confirmation says how many people move
    data = {"new_sponsor": target.pk, "reason": "Sponsor asked for it"}
    response = client.post(url, data)
    assert "3 people" in response.content.decode()
    assert fresh(leg[0]).sponsor_id == house().pk  # nothing happened yet
    # And when they confirm, the move happens and is recorded with their name
    response = client.post(url, {**data, "confirmed": "yes"})
    assert response.status_code == 302
    assert fresh(leg[0]).sponsor_id == target.pk
    assert_tree_matches_sponsor_links()
    change = TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).get()
    assert (change.kind, change.by, change.reason) == (
        TreeChangeKind.MOVE,
        staff,
        "Sponsor asked for it",
    )


def test_a_refused_move_shows_the_reason(client, staff):
    leg = make_chain(3)
    url = reverse("admin:genealogy_distributor_move", args=[leg[0].pk])
    response = client.post(url, {"new_sponsor": leg[2].pk, "reason": "x", "confirmed": "yes"})
    assert response.status_code == 200
    assert "would make a loop" in response.content.decode()
    assert not TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).exists()


def test_a_move_needs_a_reason(client, staff):
    person, target = make_distributor(), make_distributor()
    url = reverse("admin:genealogy_distributor_move", args=[person.pk])
    response = client.post(url, {"new_sponsor": target.pk, "reason": "  ", "confirmed": "yes"})
    assert response.context["form"].errors["reason"]
    assert fresh(person).sponsor_id == house().pk


def test_the_move_action_takes_exactly_one_distributor(client, staff):
    a, b = make_distributor(), make_distributor()
    url = reverse("admin:genealogy_distributor_changelist")
    response = client.post(url, {"action": "move_selected", "_selected_action": [a.pk]})
    assert response.url == reverse("admin:genealogy_distributor_move", args=[a.pk])
    response = client.post(
        url, {"action": "move_selected", "_selected_action": [a.pk, b.pk]}, follow=True
    )
    assert "Select exactly one distributor" in response.content.decode()


# --- Terminate --------------------------------------------------------------------------------


def test_termination_with_roll_up_is_confirmed_with_counts_then_done(client, staff):
    upline = make_distributor()
    person = make_distributor(sponsor=upline)
    recruits = [make_distributor(sponsor=person) for _ in range(2)]
    url = reverse("admin:genealogy_distributor_terminate", args=[person.pk])
    assert "2 direct recruits" in client.get(url).content.decode()
    data = {"roll_up_recruits": "on", "reason": "Left the company"}
    response = client.post(url, data)
    assert (
        "2 direct recruits" in response.content.decode()
        and str(upline) in response.content.decode()
    )
    assert fresh(person).status == DistributorStatus.ACTIVE
    response = client.post(url, {**data, "confirmed": "yes"})
    assert response.status_code == 302
    assert fresh(person).status == DistributorStatus.TERMINATED
    assert {fresh(r).sponsor_id for r in recruits} == {upline.pk}
    assert set(
        TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).values_list("kind", "by")
    ) == {
        (TreeChangeKind.TERMINATION, staff.pk),
        (TreeChangeKind.TERMINATE_ROLLUP, staff.pk),
    }
    assert_tree_matches_sponsor_links()


# --- The audit --------------------------------------------------------------------------------


def test_the_audit_is_read_only_in_the_admin(client, staff):
    a, b = make_distributor(), make_distributor()
    move_distributor(distributor=a, new_sponsor=b, reason="audit me", by=staff)
    change = TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).get()
    changelist = reverse("admin:genealogy_treechange_changelist")
    response = client.get(changelist, {"kind__exact": "move"})
    assert response.status_code == 200 and "audit me" in response.content.decode()
    assert client.get(reverse("admin:genealogy_treechange_add")).status_code == 403
    detail = client.get(reverse("admin:genealogy_treechange_change", args=[change.pk]))
    assert detail.status_code == 200 and not detail.context["has_change_permission"]
    delete = reverse("admin:genealogy_treechange_delete", args=[change.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert TreeChange.objects.filter(pk=change.pk).exists()


def test_saving_the_change_form_keeps_a_move_made_meanwhile(client, staff):
    person, target = make_distributor(), make_distributor()
    form_page = client.get(change_url(person))  # staff opens the form
    assert form_page.status_code == 200
    move_distributor(distributor=person, new_sponsor=target, reason="meanwhile", by=None)
    client.post(
        change_url(person), {"joined_on": "2025-02-02", "country": "US", "phone": "+12015550123"}
    )
    assert fresh(person).sponsor_id == target.pk and fresh(person).phone == "+12015550123"


def test_search_by_an_all_digit_referral_code(client, staff):
    person = make_distributor()
    Distributor.objects.filter(pk=person.pk).update(referral_code="234567")
    response = client.get(reverse("admin:genealogy_distributor_changelist"), {"q": "234567"})
    assert list(response.context["cl"].result_list) == [fresh(person)]
