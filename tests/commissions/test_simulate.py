"""Simulating a draft plan version on a closed month (``commissions.services.simulate``), its
admin page and its command.

The worked example (``conftest``): Ann → Ben → Cal → Dee → Eve under the house, CV Ann 100,
Ben 0 (inactive), Cal 120, Dee 100, Eve 200 = 520.00. The paid plan pays 5 %, 5 %, 10 % on
three levels with dynamic compression (Ben, inactive, is skipped and the levels roll up):

  Eve's 200: Dee level 1 5 % = 10.00, Cal level 2 5 % = 10.00, Ann level 3 10 % = 20.00
  Dee's 100: Cal level 1 5 % = 5.00, Ann level 2 5 % = 5.00
  Cal's 120: Ann level 1 5 % = 6.00
  Paid: Dee 10.00, Cal 15.00, Ann 31.00 = 56.00 = 10.77 % of 520.00 (56 / 520 = 0.10769).

The draft doubles level 1 (10 %, 5 %, 10 %):

  Eve's 200: Dee 20.00, Cal 10.00, Ann 20.00; Dee's 100: Cal 10.00, Ann 5.00; Cal's 120: Ann 12.00
  Simulated: Dee 20.00 (+10.00), Cal 20.00 (+5.00), Ann 37.00 (+6.00) = 77.00 (+21.00)
  = 14.81 % of CV (77 / 520 = 0.14808).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.errors import CommissionError
from commissions.models import (
    Adjustment,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    Hold,
    PlanSimulation,
    PlanVersion,
)
from commissions.services.close import closable_from, close_period
from commissions.services.runs import calculate_period
from commissions.services.simulate import (
    KindRow,
    PersonRow,
    RankRow,
    Simulation,
    mover_indices,
    rank_rows,
    simulate,
    simulation_as_json,
    simulation_from_json,
)
from commissions.services.simulations import (
    SIMULATION_LOCK_CLASS,
    plan_document_hash,
    simulation_request,
)
from commissions.tasks import simulate_plan_task
from config.celery import app as celery_app
from core.periods import Period
from outbox.models import OutboxTask
from tests.commissions.conftest import PERIOD
from tests.factories import (
    COMMISSION_TEST_PLAN,
    UserFactory,
    closed_period_with_results,
    log_in_with_mfa,
    make_plan_version,
)

D = Decimal


def doubled_level_one() -> dict:
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["name"] = "Doubled level 1"
    document["unilevel"] = {"percents": ["10", "5", "10"]}
    return document


def close_march(chain) -> PlanVersion:
    """March calculated with the test plan and closed; returns the draft (doubled level 1)."""
    make_plan_version()
    calculate_period(period=PERIOD)
    close_period(period=PERIOD, now=closable_from(PERIOD))
    return make_plan_version(doubled_level_one(), effective_from=dt.date(2026, 4, 1))


def ledger_snapshot() -> dict:
    return {
        model.__name__: sorted(model.objects.values_list(), key=repr)
        for model in (
            CommissionPeriod,
            CommissionRun,
            DistributorResult,
            CommissionLine,
            Clawback,
            Adjustment,
            Hold,
            PlanVersion,
        )
    }


@pytest.mark.django_db(transaction=True)
def test_a_draft_doubling_level_one_shows_the_differences_worked_by_hand(chain):
    draft = close_march(chain)

    simulation = simulate(draft, PERIOD)

    assert simulation.period == "2026-03"
    assert simulation.plan_name == "Doubled level 1"
    assert simulation.total_cv == D("520.00")
    assert (simulation.paid_total, simulation.simulated_total) == (D("56.00"), D("77.00"))
    assert simulation.difference == D("21.00")
    assert simulation.paid_percent_of_cv == D("10.77")
    assert simulation.simulated_percent_of_cv == D("14.81")
    assert [(k.kind, k.paid, k.simulated, k.difference) for k in simulation.kinds] == [
        ("Unilevel", D("56.00"), D("77.00"), D("21.00"))
    ]
    # Ann, Cal, Dee and Eve have 100 PV or more: Member (rank 1); Ben and the house: no rank.
    member = simulation.ranks[1]
    assert (member.paid_name, member.paid_people, member.simulated_people) == ("Member", 4, 4)
    assert (member.paid, member.simulated, member.difference) == (D("56"), D("77"), D("21"))
    nobody = simulation.ranks[0]
    assert (nobody.paid, nobody.simulated) == (D("0"), D("0"))
    # Biggest increase first: Dee +10.00, Ann +6.00, Cal +5.00; nobody loses.
    assert [(p.distributor_id, p.paid, p.simulated, p.difference) for p in simulation.winners] == [
        (chain.dee.pk, D("10.00"), D("20.00"), D("10.00")),
        (chain.ann.pk, D("31.00"), D("37.00"), D("6.00")),
        (chain.cal.pk, D("15.00"), D("20.00"), D("5.00")),
    ]
    assert simulation.winners[0].name == chain.dee.display_name
    assert simulation.winners[0].number == chain.dee.number
    assert simulation.losers == []
    assert simulation.people_changed == 3


@pytest.mark.django_db(transaction=True)
def test_the_paid_plan_itself_reproduces_what_was_paid(chain):
    close_march(chain)
    paid_version = CommissionPeriod.objects.get(month=PERIOD.first_day).current_run.plan_version

    simulation = simulate(paid_version, PERIOD)

    assert simulation.simulated_total == simulation.paid_total == D("56.00")
    assert simulation.people_changed == 0 and simulation.winners == simulation.losers == []


@pytest.mark.django_db(transaction=True)
def test_a_lower_plan_lists_the_losers_biggest_drop_first(chain):
    close_march(chain)
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["unilevel"] = {"percents": ["5", "5", "5"]}
    lower = make_plan_version(document, effective_from=dt.date(2026, 4, 1))

    simulation = simulate(lower, PERIOD)

    # Only level 3 changes (10 % → 5 %): Ann's 20.00 on Eve's 200 becomes 10.00.
    assert simulation.simulated_total == D("46.00")
    assert [(p.distributor_id, p.difference) for p in simulation.losers] == [
        (chain.ann.pk, D("-10.00"))
    ]
    assert simulation.winners == []


@pytest.mark.django_db(transaction=True)
def test_simulating_leaves_the_ledger_unchanged(chain):
    draft = close_march(chain)
    before = ledger_snapshot()

    simulate(draft, PERIOD)

    assert ledger_snapshot() == before
    assert not CommissionRun.objects.filter(plan_version=draft).exists()
    assert not draft.is_locked  # still a draft: it can be edited


@pytest.mark.django_db
def test_only_a_closed_month_can_be_simulated(chain):
    draft = make_plan_version()
    CommissionPeriod.objects.create(month=PERIOD.first_day)
    with pytest.raises(CommissionError, match="is not closed"):
        simulate(draft, PERIOD)
    with pytest.raises(CommissionError, match="2026-05 is not closed"):
        simulate(draft, Period(2026, 5))  # no period row at all


# --- In the background: the request, the task, the admin pages ----------------------------------


@pytest.fixture
def eager_celery():
    """Tasks run in-process right after the commit that enqueued them (the outbox's eager path);
    the task's work is what these tests are about."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def simulation_urls(simulation: PlanSimulation) -> dict[str, str]:
    return {
        name: reverse(f"admin:commissions_planversion_simulation{suffix}", args=[simulation.pk])
        for name, suffix in (("page", ""), ("progress", "_progress"), ("csv", "_csv"))
    }


def closed_month_without_a_run_of_the_engine() -> tuple[PlanVersion, CommissionPeriod]:
    """A closed month and a draft, written directly (no transaction needed: tasks enqueued
    here are never published, the test's transaction never commits)."""
    version = make_plan_version()
    row = closed_period_with_results(PERIOD.first_day, {}, plan_version=version)
    return make_plan_version(doubled_level_one(), effective_from=dt.date(2026, 4, 1)), row


@pytest.mark.django_db(transaction=True)
def test_admin_page_works_for_staff_with_mfa(client, chain, eager_celery):
    draft = close_march(chain)
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    changelist = reverse("admin:commissions_planversion_changelist")
    url = reverse("admin:commissions_planversion_simulate", args=[draft.pk])

    change = client.get(reverse("admin:commissions_planversion_change", args=[draft.pk]))
    picked = client.post(changelist, {"action": "simulate", "_selected_action": [draft.pk]})
    form = client.get(url)
    submitted = client.post(url, {"period": "2026-03"})  # the task runs after the commit
    simulation = PlanSimulation.objects.get()
    urls = simulation_urls(simulation)
    page = client.get(submitted["Location"])
    fragment = client.get(urls["progress"])
    download = client.get(urls["csv"])
    listed = client.get(url)

    assert change.status_code == 200 and f'href="{url}"' in change.content.decode()  # the button
    assert picked.status_code == 302 and picked["Location"] == url
    assert form.status_code == 200 and "2026-03" in form.content.decode()
    assert submitted.status_code == 302 and submitted["Location"] == urls["page"]
    text = page.content.decode()
    assert page.status_code == 200
    assert "56.00" in text and "77.00" in text and "21.00" in text and "14.81" in text
    assert chain.dee.display_name in text
    assert "hx-trigger" not in text  # done: nothing polls
    assert fragment.status_code == 200 and "77.00" in fragment.content.decode()
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(download.content.decode().splitlines()))
    assert rows[1] == [
        "total",
        "2026-03",
        f"v{draft.pk} Doubled level 1",
        "56.00",
        "77.00",
        "21.00",
    ]
    assert ["percent_of_cv", "2026-03", "of 520.00 CV", "10.77", "14.81", "4.04"] in rows
    assert urls["page"] in listed.content.decode()  # the form lists this version's simulations


@pytest.mark.django_db(transaction=True)
def test_the_task_stores_the_result_and_progress_reaches_100(chain, eager_celery):
    draft = close_march(chain)
    direct = simulate(draft, PERIOD)

    simulation, is_new = simulation_request(plan_version=draft, period=PERIOD)

    simulation.refresh_from_db()
    assert is_new
    assert (simulation.status, simulation.progress, simulation.phase) == ("done", 100, "Done")
    assert simulation.started_at <= simulation.finished_at and simulation.error == ""
    assert simulation.plan_hash == plan_document_hash(draft)
    assert simulation.result["paid_total"] == "56.00"  # JSON-safe: money as decimal strings
    assert simulation.result["simulated_total"] == "77.00"
    assert simulation_from_json(simulation.result) == direct  # the same comparison, read back


def test_the_stored_result_is_json_and_reads_back_exactly():
    simulation = Simulation(
        period="2026-03",
        plan_version_id=7,
        plan_name="Draft",
        paid_run_id=3,
        paid_plan_name="",
        distributor_count=2,
        total_cv=D("0.00"),
        paid_total=D("1.10"),
        simulated_total=D("0.00"),
        paid_percent_of_cv=None,  # no CV
        simulated_percent_of_cv=None,
        kinds=[KindRow("Unilevel", D("1.10"), D("0.00"))],
        ranks=[RankRow(0, "(no rank)", "(no rank)", 2, 2, D("1.10"), D("0"))],
        winners=[],
        losers=[PersonRow(5, 1005, "=cmd|' /C calc'!A0", D("1.10"), D("0.00"))],
        people_changed=1,
    )

    stored = json.loads(json.dumps(simulation_as_json(simulation)))

    assert stored["paid_total"] == "1.10" and stored["losers"][0]["simulated"] == "0.00"
    assert simulation_from_json(stored) == simulation
    assert simulation_from_json(stored).losers[0].difference == D("-1.10")


@pytest.mark.django_db(transaction=True)
def test_progress_is_reported_phase_by_phase_outside_the_rolled_back_reads(chain):
    draft = close_march(chain)
    heard = []

    simulate(
        draft,
        PERIOD,
        progress=lambda percent, phase: heard.append((percent, phase, connection.in_atomic_block)),
    )

    percents = [percent for percent, _, _ in heard]
    assert percents == sorted(percents) and percents[-1] == 100
    assert [phase for _, phase, _ in heard] == [
        "Reading inputs",
        "Running the engine",
        "Comparing with what was paid",
        "Done",
    ]
    # Outside any transaction: what the task writes is committed, and polled, at once.
    assert not any(in_transaction for _, _, in_transaction in heard)


@pytest.mark.django_db(transaction=True)
def test_a_retried_task_does_nothing_once_the_simulation_is_done(client, chain, eager_celery):
    draft = close_march(chain)
    simulation, _ = simulation_request(plan_version=draft, period=PERIOD)
    simulation.refresh_from_db()
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    fresh = client.get(simulation_urls(simulation)["page"]).content.decode()
    # The draft is edited afterwards: a second run would find other figures.
    PlanVersion.objects.filter(pk=draft.pk).update(document=COMMISSION_TEST_PLAN)

    outcome = simulate_plan_task.apply(args=[simulation.pk]).get()

    again = PlanSimulation.objects.get(pk=simulation.pk)
    assert outcome == {"simulation": simulation.pk, "status": "done"}
    assert again.result == simulation.result and again.result["simulated_total"] == "77.00"
    assert again.finished_at == simulation.finished_at
    # The page says its figures are for the draft as it was.
    stale = client.get(simulation_urls(simulation)["page"]).content.decode()
    assert "edited after this simulation" not in fresh
    assert "edited after this simulation" in stale and "77.00" in stale


@pytest.mark.django_db(transaction=True)
def test_a_running_simulation_is_left_to_its_live_worker_and_retaken_from_a_dead_one(client, chain):
    draft = close_march(chain)
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    simulation = PlanSimulation.objects.create(
        plan_version=draft,
        period=CommissionPeriod.objects.get(month=PERIOD.first_day),
        status="running",
        progress=40,
        phase="Running the engine",
    )
    worker = connections.create_connection("default")  # another worker's session
    try:
        with worker.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [SIMULATION_LOCK_CLASS, simulation.pk]
            )
            assert cursor.fetchone()[0]

        redelivered = simulate_plan_task.apply(args=[simulation.pk]).get()
        alive = PlanSimulation.objects.get(pk=simulation.pk)
        fragment = client.get(simulation_urls(simulation)["progress"]).content.decode()
    finally:
        worker.close()  # the worker dies: its session's lock goes with it
    retried = simulate_plan_task.apply(args=[simulation.pk]).get()

    assert redelivered == {"simulation": simulation.pk, "status": "running"}
    assert (alive.progress, alive.result) == (40, {})  # not run a second time
    assert "Running the engine</strong>: 40 %" in fragment and 'value="40"' in fragment
    assert 'hx-trigger="every 2s"' in fragment  # still going: the fragment polls on
    assert retried == {"simulation": simulation.pk, "status": "done"}
    assert PlanSimulation.objects.get(pk=simulation.pk).result["simulated_total"] == "77.00"


@pytest.mark.django_db(transaction=True)
def test_a_failed_simulation_stores_the_message_and_the_page_shows_it(client, chain):
    draft = make_plan_version()
    calculate_period(period=PERIOD)  # calculated, not closed
    simulation = PlanSimulation.objects.create(  # as if the month had looked closed
        plan_version=draft, period=CommissionPeriod.objects.get(month=PERIOD.first_day)
    )

    outcome = simulate_plan_task.apply(args=[simulation.pk]).get()
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    urls = simulation_urls(simulation)
    page = client.get(urls["page"])
    fragment = client.get(urls["progress"])
    download = client.get(urls["csv"])

    failed = PlanSimulation.objects.get(pk=simulation.pk)
    assert outcome == {"simulation": simulation.pk, "status": "failed"}
    assert failed.error == (
        "2026-03 is not closed: a simulation compares with a closed month's final run."
    )
    assert failed.finished_at is not None and failed.result == {}
    for response in (page, fragment):
        assert response.status_code == 200
        assert "2026-03 is not closed" in response.content.decode()
        assert "hx-trigger" not in response.content.decode()  # failed: polling stops
    assert download.status_code == 404
    # A failed simulation is not retried by a redelivery: asking again makes a new one.
    assert simulate_plan_task.apply(args=[simulation.pk]).get()["status"] == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_draft_stored_before_the_rules_changed_fails_with_what_does_not_validate(
    chain, eager_celery
):
    draft = close_march(chain)
    broken = {**doubled_level_one(), "unilevel": {"percents": ["abc"]}}
    PlanVersion.objects.filter(pk=draft.pk).update(document=broken)  # no longer valid

    simulation, _ = simulation_request(plan_version=draft, period=PERIOD)

    simulation.refresh_from_db()
    assert simulation.status == "failed"
    assert simulation.error.startswith("The plan does not validate: ")
    assert "unilevel.percents[0]: 'abc' is not a number" in simulation.error


@pytest.mark.django_db
def test_asking_again_while_it_is_queued_reuses_the_simulation_and_the_page_polls(client):
    draft, row = closed_month_without_a_run_of_the_engine()
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:commissions_planversion_simulate", args=[draft.pk])

    first = client.post(url, {"period": "2026-03"})
    second = client.post(url, {"period": "2026-03"}, follow=True)

    simulation = PlanSimulation.objects.get()
    urls = simulation_urls(simulation)
    assert (simulation.status, simulation.plan_version, simulation.period) == ("queued", draft, row)
    assert first["Location"] == urls["page"]
    assert second.redirect_chain == [(urls["page"], 302)]
    text = second.content.decode()
    assert "already being simulated" in text and "Queued" in text
    assert f'hx-get="{urls["progress"]}"' in text and 'hx-trigger="every 2s"' in text
    assert 'src="/static/vendor/htmx/htmx.min.js"' in text
    assert OutboxTask.objects.filter(task_name="commissions.simulate_plan").count() == 1
    # Another month, or the same once this one is finished, is a new simulation.
    PlanSimulation.objects.filter(pk=simulation.pk).update(status="done")
    _, is_new = simulation_request(plan_version=draft, period=PERIOD)
    assert is_new and PlanSimulation.objects.count() == 2


@pytest.mark.django_db
def test_the_lists_of_simulations_read_a_fixed_number_of_queries(client):
    draft, row = closed_month_without_a_run_of_the_engine()
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    pages = [
        reverse("admin:commissions_planversion_simulate", args=[draft.pk]),
        reverse("admin:commissions_plansimulation_changelist"),
    ]

    def queries() -> list[int]:
        counts = []
        for url in pages:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured))
        return counts

    PlanSimulation.objects.create(
        plan_version=draft, period=row, status="done", requested_by=UserFactory()
    )
    with_one = queries()
    for _ in range(5):
        PlanSimulation.objects.create(
            plan_version=draft, period=row, status="failed", requested_by=UserFactory()
        )
    with_six = queries()

    assert with_six == with_one


@pytest.mark.django_db
def test_the_form_says_when_no_month_is_closed(client):
    draft = make_plan_version()
    CommissionPeriod.objects.create(month=PERIOD.first_day)  # open
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:commissions_planversion_simulate", args=[draft.pk])

    page = client.get(url)
    posted = client.post(url, {"period": "2026-03"})

    assert page.status_code == 200 and "No month is closed yet" in page.content.decode()
    assert posted.status_code == 200 and not PlanSimulation.objects.exists()
    with pytest.raises(CommissionError, match="2026-03 is not closed"):
        simulation_request(plan_version=draft, period=PERIOD)


@pytest.mark.django_db
def test_admin_pages_refuse_staff_without_mfa_and_everyone_else(client):
    draft, row = closed_month_without_a_run_of_the_engine()
    simulation = PlanSimulation.objects.create(plan_version=draft, period=row)
    urls = [
        reverse("admin:commissions_planversion_simulate", args=[draft.pk]),
        *simulation_urls(simulation).values(),
    ]

    for url in urls:
        anonymous = client.get(url)
        client.force_login(UserFactory(is_staff=True, is_superuser=True))  # no MFA
        staff_without_mfa = client.get(url)
        staff_posting = client.post(urls[0], {"period": "2026-03"})
        client.force_login(UserFactory())
        distributor = client.get(url)
        client.logout()

        assert anonymous.status_code == 302 and "login" in anonymous["Location"], url
        assert staff_without_mfa.status_code == 302, url
        assert staff_without_mfa["Location"] == reverse("mfa_activate_totp")  # set MFA up first
        assert staff_posting.status_code == 302
        assert staff_posting["Location"] == reverse("mfa_activate_totp")
        assert distributor.status_code == 302 and "login" in distributor["Location"], url
    assert PlanSimulation.objects.count() == 1  # nobody refused queued anything


@pytest.mark.django_db
def test_admin_pages_refuse_staff_without_the_view_permission(client):
    draft, row = closed_month_without_a_run_of_the_engine()
    simulation = PlanSimulation.objects.create(plan_version=draft, period=row)
    log_in_with_mfa(client, UserFactory(is_staff=True))  # staff powers, no permissions
    form_url = reverse("admin:commissions_planversion_simulate", args=[draft.pk])

    answers = [client.get(url).status_code for url in simulation_urls(simulation).values()]
    answers += [client.get(form_url).status_code]
    answers += [client.post(form_url, {"period": "2026-03"}).status_code]

    assert answers == [403] * 5
    assert PlanSimulation.objects.count() == 1


@pytest.mark.django_db
def test_simulations_are_read_only_in_the_admin(client):
    draft, row = closed_month_without_a_run_of_the_engine()
    simulation = PlanSimulation.objects.create(plan_version=draft, period=row)
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))

    listed = client.get(reverse("admin:commissions_plansimulation_changelist"))
    shown = client.get(reverse("admin:commissions_plansimulation_change", args=[simulation.pk]))
    changed = client.post(
        reverse("admin:commissions_plansimulation_change", args=[simulation.pk]),
        {"status": "done"},
    )
    added = client.get(reverse("admin:commissions_plansimulation_add"))

    assert listed.status_code == 200 and str(simulation) in listed.content.decode()
    assert shown.status_code == 200
    assert simulation_urls(simulation)["page"] in shown.content.decode()
    assert changed.status_code == 403 and added.status_code == 403
    assert PlanSimulation.objects.get().status == "queued"


# --- Command -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_command_prints_the_comparison_and_writes_the_csv(chain, tmp_path, capsys):
    draft = close_march(chain)
    output = tmp_path / "simulation.csv"

    call_command(
        "simulate_plan", "--version", str(draft.pk), "--period", "2026-03", "--csv", output
    )

    printed = capsys.readouterr().out
    assert "56.00" in printed and "77.00" in printed and "21.00" in printed
    rows = list(csv.reader(output.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["section", "key", "name", "paid", "simulated", "difference"]
    assert ["kind", "Unilevel", "Unilevel", "56.00", "77.00", "21.00"] in rows
    assert ["percent_of_cv", "2026-03", "of 520.00 CV", "10.77", "14.81", "4.04"] in rows
    winners = [row for row in rows if row[0] == "winner"]
    assert [row[1] for row in winners] == [str(p.number) for p in (chain.dee, chain.ann, chain.cal)]


# --- The comparison against references written from the rule's words ------------------------------


def reference_movers(ids, paid, simulated, count):
    """The rule: winners are the people whose simulated pay exceeds what they were paid, the
    biggest increase first; losers those paid less, the biggest drop first; equal differences
    in distributor-id order; at most ``count`` of each."""
    people = list(zip(ids, paid, simulated, strict=True))
    gains = sorted(
        (i for i, (_, p, s) in enumerate(people) if s > p),
        key=lambda i: (-(people[i][2] - people[i][1]), people[i][0]),
    )
    drops = sorted(
        (i for i, (_, p, s) in enumerate(people) if s < p),
        key=lambda i: (people[i][2] - people[i][1], people[i][0]),
    )
    return gains[:count], drops[:count]


people_strategy = st.lists(
    st.tuples(st.integers(-50_000, 50_000), st.integers(-50_000, 50_000)), max_size=60
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=people_strategy, count=st.integers(1, 25), seed=st.integers(0, 10_000))
def test_winners_and_losers_match_the_reference(people, count, seed):
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10_000, size=len(people), replace=False)).astype(np.int64)
    paid = np.array([p for p, _ in people], dtype=np.int64)
    simulated = np.array([s for _, s in people], dtype=np.int64)

    assert mover_indices(ids, paid, simulated, count) == reference_movers(
        ids.tolist(), paid.tolist(), simulated.tolist(), count
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(
        st.tuples(
            st.integers(0, 4), st.integers(0, 4), st.integers(0, 9_999), st.integers(0, 9_999)
        ),
        max_size=40,
    )
)
def test_rank_rows_match_the_reference(people):
    """Per rank: how many people were paid (and would be paid) as that rank, and the sum of
    what they earned, each side by its own paid-as rank."""
    paid_rank = np.array([p[0] for p in people], dtype=np.int64)
    simulated_rank = np.array([p[1] for p in people], dtype=np.int64)
    paid = np.array([p[2] for p in people], dtype=np.int64)
    simulated = np.array([p[3] for p in people], dtype=np.int64)

    rows = rank_rows(
        paid_rank=paid_rank,
        simulated_rank=simulated_rank,
        paid_person=paid,
        simulated_person=simulated,
        paid_names=["A", "B"],
        simulated_names=["A", "B", "C"],
    )

    top = max([3, *(p[0] for p in people), *(p[1] for p in people)])
    assert [row.rank for row in rows] == list(range(top + 1))
    for row in rows:
        assert row.paid_people == sum(1 for p in people if p[0] == row.rank)
        assert row.simulated_people == sum(1 for p in people if p[1] == row.rank)
        assert row.paid == Decimal(sum(p[2] for p in people if p[0] == row.rank)) / 100
        assert row.simulated == Decimal(sum(p[3] for p in people if p[1] == row.rank)) / 100
    assert [row.paid_name for row in rows[:4]] == ["(no rank)", "A", "B", ""]
    assert [row.simulated_name for row in rows[:4]] == ["(no rank)", "A", "B", "C"]
