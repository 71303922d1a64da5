import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from commissions.models import CommissionPeriod
from messaging import services
from messaging.models import EmailOptOut, Notification, NotificationKind
from messaging.tasks import notify_period_closed_task
from orders.services import order_refund
from tests.factories import ProductFactory, closed_period_with_results, make_distributor, make_order

pytestmark = pytest.mark.django_db


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


def test_sponsor_is_notified_and_emailed_of_a_new_recruit(
    eager_celery, django_capture_on_commit_callbacks
):
    sponsor = make_distributor()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        recruit = make_distributor(sponsor=sponsor, name="Rita Recruit")

    assert kinds(sponsor.user) == [NotificationKind.NEW_RECRUIT]
    assert "Rita Recruit joined your team" in Notification.objects.get(user=sponsor.user).title
    assert kinds(recruit.user) == []
    assert [m.to for m in mail.outbox] == [[sponsor.user.email]]


def test_a_retried_new_recruit_notification_is_written_once(eager_celery):
    sponsor = make_distributor()
    recruit = make_distributor(sponsor=sponsor)

    first = services.notify_new_recruit(distributor_id=recruit.pk)
    again = services.notify_new_recruit(distributor_id=recruit.pk)

    assert first.pk == again.pk and kinds(sponsor.user) == [NotificationKind.NEW_RECRUIT]
    assert first.url == reverse("team_member", args=[recruit.number])


def test_no_email_for_a_kind_turned_off(eager_celery, django_capture_on_commit_callbacks):
    sponsor = make_distributor()
    EmailOptOut.objects.create(user=sponsor.user, kind=NotificationKind.NEW_RECRUIT)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        make_distributor(sponsor=sponsor)

    assert kinds(sponsor.user) == [NotificationKind.NEW_RECRUIT]
    assert mail.outbox == []


def test_refund_notifies_the_orders_distributor(django_capture_on_commit_callbacks):
    seller = make_distributor()
    order = make_order(distributor=seller, items={ProductFactory(): 2}, paid_at=timezone.now())
    line = order.lines.first()

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=order, quantities={line.pk: 1}, reason="return")

    assert NotificationKind.ORDER_REFUNDED in kinds(seller.user)


def test_period_closed_tells_everyone_their_statement_is_ready_once(
    django_capture_on_commit_callbacks,
):
    first, second = make_distributor(), make_distributor()
    period = closed_period_with_results(
        dt.date(2026, 1, 1), {first: (100, 1, 1), second: (0, 0, 0)}, status="calculated"
    )
    period.status = "closed"
    period.closed_at = timezone.now()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        period.save()
    queued = [c for c in callbacks if "calendar_changed" not in c.__qualname__]
    assert len(queued) == 1  # the receiver queued the task on commit (beside the calendar's)
    notify_period_closed_task.apply(args=[period.pk])
    notify_period_closed_task.apply(args=[period.pk])

    assert kinds(first.user).count(NotificationKind.STATEMENT_READY) == 1
    assert kinds(second.user) == [NotificationKind.STATEMENT_READY]
    assert NotificationKind.RANK_REACHED in kinds(first.user)
    assert CommissionPeriod.objects.get(pk=period.pk).status == "closed"


def test_rank_reached_names_the_rank_as_the_plan_does():
    from tests.factories import make_plan_version

    make_plan_version(effective_from=dt.date(2020, 1, 1))  # rank 1: code "member", "Member"
    person = make_distributor()
    period = closed_period_with_results(dt.date(2026, 1, 1), {person: (100, 1, 1)})

    notify_period_closed_task.apply(args=[period.pk])

    titles = list(
        Notification.objects.filter(
            user=person.user, kind=NotificationKind.RANK_REACHED
        ).values_list("title", flat=True)
    )
    assert titles == ["Congratulations: you reached Member"]


def test_bell_shows_the_unread_count(client):
    person = make_distributor()
    for n in range(3):
        services.notification_create(user_id=person.user_id, kind="rank_reached", title=f"N{n}")
    client.force_login(person.user)

    page = client.get(reverse("dashboard")).content.decode()
    fragment = client.get(reverse("messaging:bell"), HTTP_HX_REQUEST="true").content.decode()

    # The page only places the bell; htmx loads the count right after (no query in the page).
    assert 'hx-trigger="load, every 60s"' in page
    assert 'data-unread="3"' in fragment
    services.notifications_mark_read(user=person.user)
    assert "data-unread" not in client.get(reverse("messaging:bell")).content.decode()


def test_list_filters_marks_read_and_has_an_empty_state(client, django_assert_max_num_queries):
    person = make_distributor()
    client.force_login(person.user)
    assert "No notifications yet" in client.get(reverse("messaging:notifications")).content.decode()
    for n in range(30):
        services.notification_create(user_id=person.user_id, kind="rank_reached", title=f"N{n}")
    first = Notification.objects.filter(user=person.user).order_by("id").first()

    client.post(reverse("messaging:notifications_read"), {"id": first.pk})
    with django_assert_max_num_queries(12):
        unread = client.get(reverse("messaging:notifications"), {"show": "unread", "page": 2})

    assert unread.context["page"].paginator.count == 29
    assert Notification.objects.get(pk=first.pk).read_at is not None


def test_unsubscribe_link_turns_the_kind_off_and_bad_token_is_refused(client):
    person = make_distributor()
    token = services.unsubscribe_token(user_id=person.user_id, kind="message")

    assert client.get(reverse("messaging:unsubscribe", args=[token])).status_code == 200
    assert not EmailOptOut.objects.exists()  # a GET (link preview) changes nothing
    response = client.post(reverse("messaging:unsubscribe", args=[token]))
    bad = client.post(reverse("messaging:unsubscribe", args=[token[:-2] + "xx"]))

    assert response.status_code == 200
    assert list(EmailOptOut.objects.values_list("user_id", "kind")) == [(person.user_id, "message")]
    assert bad.status_code == 400 and EmailOptOut.objects.count() == 1


def test_preferences_page_turns_kinds_on_and_off(client):
    person = make_distributor()
    client.force_login(person.user)

    client.post(reverse("messaging:preferences"), {"kinds": ["message", "statement_ready"]})

    assert services.wants_email(person.user_id, "message")
    assert not services.wants_email(person.user_id, "new_recruit")
    client.post(reverse("messaging:preferences"), {"kinds": NotificationKind.values})
    assert not EmailOptOut.objects.filter(user=person.user).exists()


def test_markdown_neutralizes_scripts():
    html = services.render_markdown('<script>alert(1)</script><img src=x onerror="alert(1)">**ok**')
    assert "<script" not in html and "onerror" not in html and "<strong>ok</strong>" in html
