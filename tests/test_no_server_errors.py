"""No 500 on bad input: every URL pattern of the project, POSTed random field names and values.

The URL patterns come from the URLconf, so a new page is covered the day it is added. Each is
built into concrete URLs with sample ids (the caller's own object, someone else's, unknown,
zero, beyond a 64-bit integer, junk text), then POSTed (and read) by a logged-in distributor and
by staff whose session passed two-factor authentication, with random field names and values:
the form's own field names (read from its page) with junk values, unknown extra fields, huge,
negative, NaN/inf, unicode, NUL, empty and very long values. The answer is never a 5xx; a 4xx
says what went wrong.

Every example runs in its own savepoint, rolled back afterwards, over one shared world built
once for the module; the examples are derandomized, so the suite gives the same verdict every
day. The test client skips CSRF checks (the project keeps them on).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.periods import Week
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    TrainingItemFactory,
    UserFactory,
    buy,
    closed_period_with_results,
    log_in_with_mfa,
    make_distributor,
    make_order,
    make_plan_version,
)

pytestmark = pytest.mark.django_db  # each test in a savepoint of the module's world

EXAMPLES = 20  # per pattern and role (admin pages: ADMIN_EXAMPLES)
ADMIN_EXAMPLES = 6
UNKNOWN_ID = 987_654_321
HUGE_ID = 2**64 + 7  # beyond PostgreSQL's bigint
PERIOD = dt.date(2026, 10, 1)
WEEK = Week(dt.date(2026, 10, 5))  # a Monday: a closed pay week of the sample plan


# --- The URL patterns, from the URLconf ---------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    route: str  # the pattern as written, for the test id
    name: str | None  # namespaced name for reverse(), None when the pattern has none
    params: tuple[str, ...]
    model: type | None = None  # the admin's model, for real object ids
    is_admin: bool = False


def _pattern_params(pattern) -> tuple[str, ...]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return tuple(converters)
    regex = pattern.pattern.regex
    return tuple(regex.groupindex)


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            model_admin = getattr(entry.callback, "model_admin", None)
            outer = (prefix + str(entry.pattern)).replace("^", "").replace("$", "")
            yield Endpoint(
                route=outer,
                name=f"{namespace}{entry.name}" if entry.name else None,
                params=_pattern_params(entry),
                model=model_admin.model if model_admin is not None else None,
                is_admin=namespace.startswith("admin:"),
            )


def all_endpoints() -> list[Endpoint]:
    seen: dict[tuple, Endpoint] = {}
    for endpoint in _walk(get_resolver().url_patterns):
        seen.setdefault((endpoint.route, endpoint.name), endpoint)
    return list(seen.values())


ENDPOINTS = all_endpoints()


# --- One world for the module, each example in a savepoint --------------------------------------


@dataclass
class World:
    staff: object
    me: object
    member: object
    outsider: object
    ids: dict[str, dict[str, object]] = field(default_factory=dict)  # url name -> param -> id
    foreign: dict[str, dict[str, object]] = field(default_factory=dict)


@contextlib.contextmanager
def rolled_back():
    """A savepoint rolled back at the end; durable blocks inside behave as under TestCase."""
    atomic = transaction.atomic()
    atomic._from_testcase = True
    with atomic:
        yield
        transaction.set_rollback(True)


def build_world() -> World:
    from commissions.models import CommissionLine, LineKind, PlanSimulation
    from commissions.services.simulate import Simulation, simulation_as_json
    from compliance.models import ComplianceFlag, FlagKind
    from messaging.models import Announcement
    from messaging.services import message_send, notification_create, unsubscribe_token
    from tests.commissions.weekly_data import closed_week_with_lines

    plan_version = make_plan_version()
    me = make_distributor(name="Mia Example")
    member = make_distributor(sponsor=me, name="Max Member")
    outsider = make_distributor(name="Olga Outside")
    me.refresh_from_db()
    staff = UserFactory(is_staff=True, is_superuser=True, name="Sam Staff")
    product = ProductFactory()
    customer = CustomerFactory(distributor=me)
    foreign_customer = CustomerFactory(distributor=outsider)
    order = make_order(distributor=me, items={product: 1})
    foreign_order = make_order(distributor=outsider, items={product: 1})
    buy(me, "100", paid_at=dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC))
    in_week = dt.datetime(2026, 10, 6, 12, tzinfo=dt.UTC)
    bought = buy(member, "50", paid_at=in_week).lines.get()
    sold = buy(me, "40", paid_at=in_week, customer=customer, profit="8").lines.get()
    period = closed_period_with_results(
        PERIOD, {me: (1234, 0, 0), member: (0, 0, 0)}, plan_version=plan_version
    )
    line = CommissionLine.objects.create(
        run=period.current_run,
        earner=me,
        kind=LineKind.UNILEVEL,
        level=1,
        source=member,
        base=10_000,
        rate_ppm=50_000,
        amount_before_cap=500,
        amount=500,
        position=0,
    )
    week = closed_week_with_lines(
        WEEK, earner=me, buyer=member, bought=bought, sold=sold, plan_version=plan_version
    )
    item = TrainingItemFactory()
    message = message_send(sender=me, subject="Hello team", body="Hi", audience="all")
    notification_create(user_id=me.user_id, kind="message", title="Hi")
    announcement = Announcement.objects.create(title="News", body="Read me")
    flag = ComplianceFlag.objects.create(distributor=me, period=PERIOD, kind=FlagKind.values[0])
    token = unsubscribe_token(user_id=me.user_id, kind="message")
    simulation = PlanSimulation.objects.create(
        plan_version=plan_version,
        period=period,
        status="done",
        progress=100,
        result=simulation_as_json(
            Simulation(
                period="2026-10",
                plan_version_id=plan_version.pk,
                plan_name="Test plan",
                paid_run_id=period.current_run_id,
                paid_plan_name="Test plan",
                distributor_count=2,
                total_cv=Decimal("0.00"),
                paid_total=Decimal("5.00"),
                simulated_total=Decimal("5.00"),
                paid_percent_of_cv=None,
                simulated_percent_of_cv=None,
                kinds=[],
                ranks=[],
                winners=[],
                losers=[],
                people_changed=0,
            )
        ),
    )
    world = World(staff=staff, me=me, member=member, outsider=outsider)
    world.ids = {
        "join": {"code": me.referral_code},
        "app_list": {"app_label": "orders"},
        "team_tree_children": {"number": member.number},
        "team_member": {"number": member.number},
        "team_member_upline": {"number": member.number},
        "training_team_member": {"number": member.number},
        "order_detail": {"pk": order.pk},
        "order_receipt": {"pk": order.pk},
        "order_pay": {"pk": order.pk},
        "order_cancel": {"pk": order.pk},
        "customer_edit": {"pk": customer.pk},
        "earnings_statement": {"period": "2026-10"},
        "earnings_statement_csv": {"period": "2026-10"},
        "earnings_line": {"period": "2026-10", "line_id": line.pk},
        "earnings_week": {"week": WEEK.first_day.isoformat()},
        "earnings_week_csv": {"week": WEEK.first_day.isoformat()},
        "earnings_week_line": {"week": WEEK.first_day.isoformat(), "line_id": week.fast_start.pk},
        "staff_run_progress": {"run_id": period.current_run_id},
        "commissions_planversion_simulate": {"pk": plan_version.pk},
        "commissions_planversion_simulation": {"pk": simulation.pk},
        "commissions_planversion_simulation_progress": {"pk": simulation.pk},
        "commissions_planversion_simulation_csv": {"pk": simulation.pk},
        "disclosure_year": {"year": 2026},
        "disclosure_csv": {"year": 2026},
        "disclosure_print": {"year": 2026},
        "compliance_flag_review": {"pk": flag.pk},
        "training_item": {"pk": item.pk},
        "training_document": {"pk": item.pk},
        "training_complete": {"pk": item.pk},
        "unsubscribe": {"token": token},
        "dismiss": {"pk": announcement.pk},
        "message_detail": {"pk": message.pk},
        "message_progress": {"pk": message.pk},
    }
    world.foreign = {
        "team_tree_children": {"number": outsider.number},
        "team_member": {"number": outsider.number},
        "team_member_upline": {"number": outsider.number},
        "training_team_member": {"number": outsider.number},
        "order_detail": {"pk": foreign_order.pk},
        "order_receipt": {"pk": foreign_order.pk},
        "order_pay": {"pk": foreign_order.pk},
        "order_cancel": {"pk": foreign_order.pk},
        "customer_edit": {"pk": foreign_customer.pk},
    }
    return world


@pytest.fixture(autouse=True)
def _quiet_request_log():
    """The test client raises a view's exception itself; its log copy would drown the report."""
    logger = logging.getLogger("django.request")
    was = logger.disabled
    logger.disabled = True
    yield
    logger.disabled = was


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), rolled_back():
        yield build_world()


# --- Concrete URLs --------------------------------------------------------------------------------

TEXT_SAMPLES = ("abc", "2026-13", "0000-00", "9" * 30, "é-ü-中", "-1")
INT_SAMPLES = {"unknown": UNKNOWN_ID, "zero": 0, "huge": HUGE_ID}


def concrete_urls(endpoint: Endpoint, world: World) -> list[str]:
    """The endpoint with real, someone else's, unknown and junk ids (those its pattern takes)."""
    if endpoint.name is None:
        return ["/" + endpoint.route]
    short = endpoint.name.rsplit(":", 1)[-1]
    variants: list[dict[str, object]] = []
    real = dict(world.ids.get(short, {}))
    if endpoint.model is not None and endpoint.params:
        pk = endpoint.model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        real = {"object_id": pk if pk is not None else UNKNOWN_ID}
    defaults = {param: real.get(param, 1) for param in endpoint.params}
    variants.append(defaults)
    if short in world.foreign:
        variants.append({**defaults, **world.foreign[short]})
    for param in endpoint.params:
        for value in (*INT_SAMPLES.values(), *TEXT_SAMPLES):
            variants.append({**defaults, param: value})
    urls: list[str] = []
    for kwargs in variants:
        with contextlib.suppress(Exception):  # a value the pattern cannot take is no URL
            url = reverse(endpoint.name, kwargs=kwargs) if kwargs else reverse(endpoint.name)
            if url not in urls:
                urls.append(url)
    return urls


FIELD_NAME = re.compile(r"""<(?:input|select|textarea|button)\b[^>]*\bname=["']([^"']+)["']""")


def form_field_names(client: Client, url: str) -> list[str]:
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return []
    names = set(FIELD_NAME.findall(response.content.decode(errors="replace")))
    names.discard("csrfmiddlewaretoken")
    return sorted(names)


# --- Junk -----------------------------------------------------------------------------------------

JUNK_VALUES = (
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1.5",
    "0.0000001",
    "1,5",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "9" * 40,
    "-" + "9" * 40,
    str(2**63),
    str(-(2**63) - 1),
    "١٢٣",  # Arabic-Indic digits
    "\x00",
    "a\x00b",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    "2026-13",
    "2026-02-30",
    "9999-12-31",
    "0000-00-00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202eevil",
    "x" * 20_000,
)
TRICKY_NAMES = (
    "id",
    "pk",
    "quantity",
    "product",
    "items",
    "form-TOTAL_FORMS",
    "form-0-quantity",
    "action",
    "_selected_action",
    "select_across",
    "index",
    "next",
    "period",
    "year",
    "number",
    "ids",
    "audience",
    "qty_1",  # the order form's quantity fields: qty_<product id>
    f"qty_{HUGE_ID}",
    f"qty_{UNKNOWN_ID}",
    "qty_-1",
    "qty_abc",
    "q",
    "page",
    "customer",
    "purpose",
    "step",
)
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
values = st.one_of(
    st.sampled_from(JUNK_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    text,
)


def post_data(form_fields: list[str]):
    names = st.one_of(
        st.sampled_from(TRICKY_NAMES),
        text.filter(bool),
        *[st.sampled_from(form_fields)] * bool(form_fields),
    )
    random_fields = st.lists(st.tuples(names, values), max_size=8)
    if not form_fields:
        return random_fields
    # The form's own fields, each with junk, some of them missing, plus unknown extras.
    own_fields = st.lists(
        st.tuples(st.sampled_from(form_fields), values), min_size=1, max_size=len(form_fields) + 2
    )
    return st.one_of(random_fields, st.tuples(own_fields, random_fields).map(lambda p: p[0] + p[1]))


# --- The check ------------------------------------------------------------------------------------


def log_in(client: Client, world: World, role: str) -> None:
    if role == "staff":
        log_in_with_mfa(client, world.staff)
    else:
        client.force_login(world.me.user)


def assert_clear_answer(response, what: str) -> None:
    status = response.status_code
    assert status < 500, f"{what}: {status}"
    if 400 <= status < 500:
        if status == 405:
            assert response.get("Allow"), f"{what}: 405 without the methods allowed"
            return
        body = b"".join(response) if response.streaming else response.content
        assert re.search(rb"[A-Za-z]{3}", body), f"{what}: {status} without a message"


def assert_would_commit(what: str) -> None:
    """Deferred constraints (a foreign key to a row that does not exist) are checked at commit,
    which the rolled-back savepoint never reaches: check them now, as the commit would."""
    try:
        connection.check_constraints()
    except IntegrityError as error:
        pytest.fail(f"{what}: the commit would fail (a 500): {error}")


def case_id(case) -> str:
    role, endpoint = case
    return f"{role}:{endpoint.name or endpoint.route}"


CASES = [("distributor", e) for e in ENDPOINTS if not e.is_admin] + [
    ("staff", e) for e in ENDPOINTS
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_bad_input_never_answers_a_server_error(world, case):
    role, endpoint = case
    with rolled_back():
        urls = concrete_urls(endpoint, world)
        client = Client()
        log_in(client, world, role)
        for url in urls:  # reading each URL (GET) with the sample ids
            with rolled_back():
                cache.clear()
                assert_clear_answer(client.get(url), f"GET {url} as {role}")
                assert_would_commit(f"GET {url} as {role}")
        assert urls, f"{endpoint.route}: no URL could be built; add its sample ids to build_world"
        form_fields = form_field_names(client, urls[0])

    @settings(
        max_examples=ADMIN_EXAMPLES if endpoint.is_admin else EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(url=st.sampled_from(urls), data=post_data(form_fields), as_multipart=st.booleans())
    def post_junk(url, data, as_multipart):
        with rolled_back():
            cache.clear()
            client = Client()
            log_in(client, world, role)
            if as_multipart:
                merged: dict[str, list[str]] = {}
                for name, value in data:
                    merged.setdefault(name, []).append(value)
                response = client.post(url, merged)
            else:
                body = urlencode(data)
                response = client.post(url, body, content_type="application/x-www-form-urlencoded")
            what = f"POST {url} as {role} with {data!r:.300}"
            assert_clear_answer(response, what)
            assert_would_commit(what)

    post_junk()


# --- The 500s the sweep found, one hand-worked example each ---------------------------------------


@pytest.mark.django_db
def test_nul_character_in_a_search_or_form_is_a_400_with_a_message(client):
    client.force_login(make_distributor().user)
    for response in (
        client.get(reverse("team_list"), {"q": "a\x00b"}),
        client.post(reverse("order_new"), {"q": "\x00", "step": "edit"}),
    ):
        assert response.status_code == 400
        assert b"NUL character" in response.content


@pytest.mark.django_db
def test_admin_autocomplete_with_a_typed_non_id_shows_the_form_error(client):
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:orders_customer_add"), {"distributor": " ", "name": "Ann", "email": "a@x.io"}
    )
    assert response.status_code == 200
    assert b"errornote" in response.content or b"errorlist" in response.content


@pytest.mark.django_db
def test_dismissing_an_unknown_announcement_is_a_404(client):
    from messaging.models import AnnouncementDismissal

    client.force_login(make_distributor().user)
    for pk in (UNKNOWN_ID, HUGE_ID):
        response = client.post(reverse("messaging:dismiss", args=[pk]))
        assert response.status_code == 404
    assert not AnnouncementDismissal.objects.exists()


@pytest.mark.django_db
def test_share_recorded_by_someone_without_a_distributor_says_why(client):
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    response = client.post(reverse("training_shared"))
    assert response.status_code == 403
    assert re.search(rb"[A-Za-z]{3}", response.content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "quantity", ["1e309", "NaN", "-inf", "-5", "9" * 40, "1.5", "abc", str(2**63)]
)
def test_order_form_with_an_absurd_quantity_is_shown_again_with_its_error(client, quantity):
    person = make_distributor()
    product = ProductFactory()
    client.force_login(person.user)
    response = client.post(
        reverse("order_new"), {f"qty_{product.pk}": quantity, "purpose": "personal"}
    )
    assert response.status_code == 422
    errors = response.context["errors"]
    assert errors and escape(errors[0]) in response.content.decode(), quantity


@pytest.mark.django_db
@pytest.mark.parametrize("product_id", [UNKNOWN_ID, HUGE_ID, 0])
def test_order_form_with_an_unknown_product_is_shown_again_with_its_error(client, product_id):
    client.force_login(make_distributor().user)
    response = client.post(reverse("order_new"), {f"qty_{product_id}": "2", "purpose": "personal"})
    assert response.status_code == 422
    errors = response.context["errors"]
    assert errors and escape(errors[0]) in response.content.decode()
