"""The one access rule, swept across every URL that takes a distributor number, and across
every URL pattern of the project as staff without staff powers."""

import copy
import datetime as dt
import random
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern

from compliance.models import ComplianceFlag
from core.periods import Period, Week
from genealogy.models import Distributor
from tests.factories import house, log_in_with_mfa, make_distributor
from tests.placement_trees import build_placement_tree

pytestmark = pytest.mark.django_db

# URLs that only staff may open at all: a distributor gets 404 even for their own team.
STAFF_ONLY = {"team_member_upline"}
# URLs with a narrower rule inside the team: 404 outside it, and 200 or 404 inside (placing a
# recruit: only their sponsor, only while they wait in the holding tank).
NARROWER_THAN_THE_TEAM = {"placement_place"}


def urls_taking_a_distributor_number(resolver: URLResolver | None = None, prefix: str = ""):
    resolver = resolver or get_resolver()
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            names.extend(urls_taking_a_distributor_number(entry))
        elif isinstance(entry, URLPattern) and entry.name and "number" in entry.pattern.converters:
            names.append(entry.name)
    return sorted(set(names))


NUMBER_URLS = urls_taking_a_distributor_number()


def test_the_sweep_finds_the_team_urls():
    assert {"team_member", "team_tree_children", "team_member_upline"} <= set(NUMBER_URLS)
    assert {
        "placement_tree_member",
        "viewer_children",
        "viewer_card",
        "viewer_path",
    } <= set(NUMBER_URLS)


def random_company(seed: int) -> list[Distributor]:
    rng = random.Random(seed)
    people = [make_distributor(sponsor=house(), place=False)]
    for _ in range(9):
        people.append(make_distributor(sponsor=rng.choice(people), place=False))
    from genealogy.services import place_pending_distributors

    place_pending_distributors()
    # One newcomer still waiting for placement: visible to their sponsor at once.
    people.append(make_distributor(sponsor=rng.choice(people), place=False))
    return [Distributor.objects.get(pk=p.pk) for p in people]


def in_subtree(viewer: Distributor, target: Distributor, by_id: dict[int, Distributor]) -> bool:
    current = target
    while current is not None:
        if current.pk == viewer.pk:
            return True
        current = by_id.get(current.sponsor_id)
    return False


@pytest.mark.parametrize("seed", [1, 2])
def test_every_pair_answers_200_exactly_inside_the_viewers_team(client, seed):
    people = random_company(seed)
    by_id = {p.pk: p for p in people}
    for viewer in people:
        client.force_login(viewer.user)
        for target in people:
            allowed = in_subtree(viewer, target, by_id)
            for name in NUMBER_URLS:
                status = client.get(reverse(name, kwargs={"number": target.number})).status_code
                if allowed and name in NARROWER_THAN_THE_TEAM:
                    assert status in (200, 404), (name, viewer.number, target.number)
                    continue
                expected = 200 if allowed and name not in STAFF_ONLY else 404
                assert status == expected, (name, viewer.number, target.number)


def test_staff_whose_session_passed_mfa_see_everyone(client):
    from tests.factories import UserFactory

    people = random_company(3)
    staff = UserFactory(is_staff=True)
    log_in_with_mfa(client, staff)
    for target in people:
        for name in set(NUMBER_URLS) - NARROWER_THAN_THE_TEAM:
            assert client.get(reverse(name, kwargs={"number": target.number})).status_code == 200


def test_unknown_number_is_404_not_403(client):
    person = make_distributor()
    client.force_login(person.user)
    for name in NUMBER_URLS:
        assert client.get(reverse(name, kwargs={"number": 99_999_999})).status_code == 404


# --- Every URL of the project, as people without staff powers ----------------------------------
#
# Staff powers (seeing beyond one's own downline) belong only to staff whose session passed MFA
# (``accounts.access``). The sweep below opens every URL pattern of the project (resolved from
# the URLconf, so a new page is covered the day it is added) as two such people, both staff and
# distributors with a small team: one without MFA, one with MFA on whose session did not pass
# it. Of the people outside their team they may see no more than an anonymous visitor does
# (a referral link names its sponsor publicly): no name, number or email, in pages, fragments or
# CSVs, with or without ``?number=`` / ``?q=``, and a POST changes none of their data.

OUTSIDER_PERIOD = Period(2026, 3)
OUTSIDER_PAID_AT = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
OUTSIDER_WEEK = Week(dt.date(2026, 3, 9))  # the pay week of OUTSIDER_PAID_AT


@dataclass
class Company:
    viewer: Distributor
    insiders: list[Distributor]
    outsiders: list[Distributor]
    samples: dict[str, object]
    by_name: dict[tuple[str, str], object]
    markers: dict[str, re.Pattern]


def build_company() -> Company:
    from accounts.models import User
    from commissions.models import CommissionLine, CommissionPeriod, PlanSimulation
    from commissions.services.close import close_period
    from commissions.services.runs import calculate_period
    from commissions.services.simulations import simulation_run
    from compliance.models import ComplianceFlag, FlagKind
    from messaging.models import Announcement, Message, MessageAudience
    from messaging.services import unsubscribe_token
    from orders.models import OrderLine
    from tests.commissions.weekly_data import closed_week_with_lines
    from tests.factories import (
        COMMISSION_TEST_PLAN,
        CustomerFactory,
        ProductFactory,
        TrainingItemFactory,
        buy,
        make_order,
        make_plan_version,
    )

    viewer = make_distributor(name="Vera Viewer", email="vera@example.com")
    User.objects.filter(pk=viewer.user_id).update(is_staff=True, is_superuser=True)
    ivan = make_distributor(sponsor=viewer, name="Ivan Insider")
    otto = make_distributor(name="Otto Outsider", email="otto@example.org")
    olga = make_distributor(sponsor=otto, name="Olga Outsider", email="olga@example.org")
    cora = CustomerFactory(distributor=otto, name="Cora Faraway", email="cora@example.org")
    for person in (viewer, ivan, otto, olga):
        buy(person, "150", paid_at=OUTSIDER_PAID_AT)
    buy(otto, "40", paid_at=OUTSIDER_PAID_AT, customer=cora, profit="10")
    otto_open_order = make_order(distributor=otto, items={ProductFactory(): 1}, customer=cora)
    plan_version = make_plan_version()
    # Both trees: the placement tree mirrors the sponsor tree here (house → Vera, Otto; Vera →
    # Ivan; Otto → Olga), so every placement page and JSON endpoint has outsiders to hide.
    build_placement_tree(
        [(house(), None, None), (viewer, house(), 0), (otto, house(), 1), (ivan, viewer, 0)]
        + [(olga, otto, 0)]
    )
    calculate_period(period=OUTSIDER_PERIOD)
    close_period(period=OUTSIDER_PERIOD)
    # A finished simulation of a richer draft: Otto, paid more on Olga's order, is a winner.
    draft_document = copy.deepcopy(COMMISSION_TEST_PLAN)
    draft_document["unilevel"] = {"percents": ["10", "5", "10"]}
    draft = make_plan_version(draft_document, effective_from=dt.date(2026, 4, 1))
    simulation = PlanSimulation.objects.create(
        plan_version=draft,
        period=CommissionPeriod.objects.get(month=OUTSIDER_PERIOD.first_day),
    )
    simulation_run(simulation_id=simulation.pk)
    otto_line = CommissionLine.objects.filter(earner=otto).first()
    assert otto_line is not None, "the sweep needs a commission line outside the viewer's team"
    # A closed pay week paying Otto a fast start on Olga's order and his retail profit on
    # Cora's (the weekly statement pages, ``/earnings/week-2026-03-09/``).
    otto_week = closed_week_with_lines(
        OUTSIDER_WEEK,
        earner=otto,
        buyer=olga,
        bought=OrderLine.objects.filter(order__distributor=olga).get(),
        sold=OrderLine.objects.filter(order__customer=cora, order__paid_at__isnull=False).get(),
        plan_version=plan_version,
    )
    flag = ComplianceFlag.objects.create(
        distributor=otto, period=OUTSIDER_PERIOD.first_day, kind=FlagKind.LOADING_AMOUNT
    )
    message = Message.objects.create(
        sender=otto, subject="Otto Outsider's news", body="Hi", audience=MessageAudience.ALL
    )
    announcement = Announcement.objects.create(title="Hello", body="Hi")
    item = TrainingItemFactory()
    run_id = CommissionPeriod.objects.get(month=OUTSIDER_PERIOD.first_day).current_run_id
    outsiders = [otto, olga]
    words = [p.user.name for p in outsiders] + [p.user.email for p in outsiders]
    words += [cora.name, cora.email]
    markers = {word: re.compile(re.escape(word), re.IGNORECASE) for word in words}
    for person in outsiders:
        markers[f"#{person.number}"] = re.compile(rf"(?<!\d){person.number}(?!\d)")
    return Company(
        viewer=viewer,
        insiders=[ivan],
        outsiders=outsiders,
        # A sample for every URL keyword: each names something outside the viewer's team.
        samples={
            "number": otto.number,
            "code": otto.referral_code,
            "period": str(OUTSIDER_PERIOD),
            "week": OUTSIDER_WEEK.first_day.isoformat(),
            "line_id": otto_line.pk,
            "run_id": run_id,
            "year": OUTSIDER_PERIOD.year,
            "token": unsubscribe_token(user_id=otto.user_id, kind="message"),
            "key": "not-a-key",
            "uidb36": str(otto.user_id),
            "app_label": "genealogy",
            "url": "genealogy/distributor/",
            "content_type_id": "1",
            "object_id": str(otto.pk),
        },
        # ``pk`` means a different thing on each page: each page names its own.
        by_name={
            ("order_detail", "pk"): otto_open_order.pk,
            ("order_receipt", "pk"): otto_open_order.pk,
            ("order_pay", "pk"): otto_open_order.pk,
            ("order_cancel", "pk"): otto_open_order.pk,
            ("customer_edit", "pk"): cora.pk,
            ("compliance_flag_review", "pk"): flag.pk,
            ("training_item", "pk"): item.pk,
            ("training_document", "pk"): item.pk,
            ("training_complete", "pk"): item.pk,
            ("dismiss", "pk"): announcement.pk,
            ("message_detail", "pk"): message.pk,
            ("message_progress", "pk"): message.pk,
            ("orders_order_refund", "pk"): otto_open_order.pk,
            ("commissions_planversion_simulate", "pk"): plan_version.pk,
            ("commissions_planversion_simulation", "pk"): simulation.pk,
            ("commissions_planversion_simulation_progress", "pk"): simulation.pk,
            ("commissions_planversion_simulation_csv", "pk"): simulation.pk,
            ("auth_user_password_change", "id"): otto.user_id,
            ("earnings_week_line", "line_id"): otto_week.retail_profit.pk,
        },
        markers=markers,
    )


@dataclass(frozen=True)
class Route:
    name: str  # namespaced when it has a name; else the route itself
    pieces: tuple  # the patterns from the root to the view
    callback: object

    @property
    def keywords(self) -> list[str]:
        names: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, RoutePattern):
                names += list(piece.converters)
            else:
                names += list(piece.regex.groupindex)
        return names

    def url(self, company: Company) -> str:
        parts = []
        for piece in self.pieces:
            text = str(piece)
            if isinstance(piece, RoutePattern):
                text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(self.sample(company, m[1])), text)
            else:
                text = re.sub(
                    r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)",
                    lambda m: str(self.sample(company, m[1])),
                    text.removeprefix("^").removesuffix("$"),
                )
            parts.append(text)
        return "/" + "".join(parts)

    def sample(self, company: Company, keyword: str):
        short = self.name.rsplit(":", 1)[-1]
        if (short, keyword) in company.by_name:
            return company.by_name[(short, keyword)]
        if keyword == "pk":  # never guessed: each page says what its pk is
            raise KeyError(keyword)
        return company.samples[keyword]


def every_route(resolver: URLResolver | None = None, pieces=(), namespace="") -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes += every_route(entry, (*pieces, entry.pattern), inner)
        else:
            path = "".join(str(p) for p in (*pieces, entry.pattern))
            name = f"{namespace}{entry.name}" if entry.name else path
            routes.append(Route(name, (*pieces, entry.pattern), entry.callback))
    return routes


ROUTES = every_route()


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def outsiders_seen(company: Company, response, *, echoed: str = "") -> set[str]:
    """The outsider markers in an answer, less the request's own ``echoed`` search term (a
    search box keeps what was typed, paging links repeat it)."""
    text = body_of(response)
    if echoed:
        text = re.sub(rf'value="{echoed}"|(?:q|number)={echoed}|“{echoed}”', "", text)
    if 300 <= response.status_code < 400:  # where it sends them (less the ?next= echo)
        location = urlsplit(response.get("Location", ""))
        kept = [(k, v) for k, v in parse_qsl(location.query) if k != "next"]
        text += location.path + urlencode(kept)
    return {label for label, pattern in company.markers.items() if pattern.search(text)}


def outsiders_data(company: Company) -> list:
    """What a POST could change about the people outside the team."""
    from orders.models import Customer, Order

    ids = [p.pk for p in company.outsiders]
    return [
        list(Distributor.objects.filter(pk__in=ids).order_by("pk").values()),
        list(Order.objects.filter(distributor_id__in=ids).order_by("pk").values()),
        list(Customer.objects.filter(distributor_id__in=ids).order_by("pk").values()),
        list(ComplianceFlag.objects.filter(distributor_id__in=ids).order_by("pk").values()),
    ]


def sweep(client, company: Company, *, logged_in: bool) -> dict[tuple[str, str], set[str]]:
    """(route, how) -> the outsider markers in its answer, for every route of the project."""
    seen = {}
    # `tree` reaches the placement tree of the viewer's pages (the others ignore it).
    outsider = company.outsiders[0].number
    query = {"number": outsider, "q": outsider, "tree": "placement"}
    for route in ROUTES:
        url = route.url(company)
        resolve(url)  # the sample URL exists (a pattern shadowed by an earlier one is swept twice)
        requests = [("get", {}), ("get", query)]
        if not route.name.endswith("logout"):  # a POST there ends the session being swept
            requests.append(("post", {}))
        for method, data in requests:
            response = getattr(client, method)(url, data)
            where = (route.name, f"{method} {'?' if data else ''}")
            seen[where] = outsiders_seen(company, response, echoed=str(data.get("q", "")))
            if logged_in:
                assert "_auth_user_id" in client.session, f"{method} {url} ended the session"
    return seen


@pytest.mark.django_db(transaction=True)  # the closed period is calculated for real
def test_every_url_pattern_has_sample_arguments():
    company = build_company()
    missing = []
    for route in ROUTES:
        for keyword in route.keywords:
            try:
                route.sample(company, keyword)
            except KeyError:
                missing.append(f"{route.name}: {keyword}")
    assert not missing, f"give these URL keywords a sample outside the viewer's team: {missing}"
    assert len(ROUTES) > 100 and {"team_list_csv", "orders_export", "admin:index"} <= {
        route.name for route in ROUTES
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mfa", ["off", "on but not passed by this session"])
def test_staff_without_a_session_that_passed_mfa_see_only_their_own_team_on_every_url(client, mfa):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.test import Client

    company = build_company()
    before = outsiders_data(company)
    client.raise_request_exception = False  # a 500 shows nothing (tests/test_no_server_errors)
    public = Client(raise_request_exception=False)
    allowed = sweep(public, company, logged_in=False)  # what anyone may see
    if mfa != "off":
        TOTP.activate(company.viewer.user, generate_totp_secret())
    client.force_login(company.viewer.user)

    seen = sweep(client, company, logged_in=True)

    leaks = {
        where: found - allowed[where] for where, found in seen.items() if found - allowed[where]
    }
    assert not leaks, leaks
    assert outsiders_data(company) == before
    # Still a distributor: their own team is there.
    team_csv = body_of(client.get(reverse("team_list_csv")))
    assert "Ivan Insider" in team_csv and "Otto Outsider" not in team_csv


@pytest.mark.django_db(transaction=True)
def test_staff_whose_session_passed_mfa_still_see_the_company(client):
    company = build_company()
    log_in_with_mfa(client, company.viewer.user)
    otto = company.outsiders[0]
    by_name = {route.name: route for route in ROUTES}
    for name in (
        "team_member",
        "team_member_upline",
        "placement_tree_member",
        "viewer_children",
        "viewer_card",
        "training_team_member",
        "order_detail",
        "customer_edit",
        "compliance_flags",
        "admin:commissions_planversion_simulation",
        "admin:commissions_planversion_simulation_progress",
        "admin:commissions_planversion_simulation_csv",
    ):
        response = client.get(by_name[name].url(company))
        assert response.status_code == 200, name
        assert outsiders_seen(company, response), name
    statement = client.get(
        reverse("earnings_statement", args=[str(OUTSIDER_PERIOD)]), {"number": otto.number}
    )
    assert "Otto Outsider" in body_of(statement)
    week = OUTSIDER_WEEK.first_day.isoformat()
    line_id = company.by_name[("earnings_week_line", "line_id")]
    for name, args, shown in (
        ("earnings_week", [week], "Olga Outsider"),
        ("earnings_week_csv", [week], "Olga Outsider"),
        ("earnings_week_line", [week, line_id], "Cora Faraway"),  # the retail sale's customer
    ):
        response = client.get(reverse(name, args=args), {"number": otto.number})
        assert response.status_code == 200, name
        assert shown in body_of(response), name
    assert "Cora Faraway" in body_of(client.get(reverse("customers_home")))
    assert "Otto Outsider" in body_of(client.get(reverse("admin:genealogy_distributor_changelist")))
