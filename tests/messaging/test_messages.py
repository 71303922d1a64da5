import pytest
from django.core import mail
from django.urls import reverse

from genealogy.selectors import TeamFilters
from messaging import services
from messaging.models import EmailOptOut, Message, MessageDelivery, Notification, NotificationKind
from messaging.tasks import deliver_message_task
from tests.factories import make_chain, make_distributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """leader → (ann → ann_child), bob; outsider elsewhere under the house."""
    leader = make_distributor(name="Leader")
    ann = make_distributor(sponsor=leader, name="Ann Alpha")
    ann_child = make_distributor(sponsor=ann, name="Cathy Child")
    bob = make_distributor(sponsor=leader, name="Bob Beta")
    outsider = make_distributor(name="Olga Outsider")
    return leader, ann, ann_child, bob, outsider


def recipients(message: Message) -> set[int]:
    return set(
        MessageDelivery.objects.filter(message=message).values_list("recipient_id", flat=True)
    )


def test_all_reaches_the_whole_downline_and_nobody_outside(
    team, django_capture_on_commit_callbacks
):
    leader, ann, ann_child, bob, outsider = team
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_send(sender=leader, subject="Hi", body="Hello", audience="all")

    services.message_deliver(message_id=message.pk)

    assert recipients(message) == {ann.pk, ann_child.pk, bob.pk}
    assert Notification.objects.filter(message=message, user=outsider.user).count() == 0
    assert Notification.objects.filter(message=message, kind="message").count() == 3


def test_level_one_and_saved_filter_audiences(team, django_capture_on_commit_callbacks):
    leader, ann, ann_child, bob, _ = team
    with django_capture_on_commit_callbacks(execute=False):
        level1 = services.message_send(sender=leader, subject="L1", body="x", audience="level1")
        filtered = services.message_send(
            sender=leader,
            subject="F",
            body="x",
            audience="filter",
            filters=TeamFilters(query="Cathy"),
        )
    services.message_deliver(message_id=level1.pk)
    services.message_deliver(message_id=filtered.pk)

    assert recipients(level1) == {ann.pk, bob.pk}
    assert recipients(filtered) == {ann_child.pk}
    assert Message.objects.get(pk=filtered.pk).filters["query"] == "Cathy"


def test_a_mid_level_sender_cannot_reach_their_upline_or_siblings(
    team, django_capture_on_commit_callbacks
):
    leader, ann, ann_child, bob, _ = team
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_send(sender=ann, subject="Hi", body="x", audience="all")
    services.message_deliver(message_id=message.pk)

    assert recipients(message) == {ann_child.pk}


def test_forged_recipient_fields_in_the_form_are_ignored(
    client, team, eager_celery, django_capture_on_commit_callbacks
):
    leader, ann, ann_child, bob, outsider = team
    client.force_login(ann.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("messaging:message_new"),
            {
                "subject": "Forged",
                "body": "x",
                "audience": "all",
                "recipient": outsider.pk,
                "recipients": [outsider.pk, leader.pk],
                "sender": leader.pk,
                "f-q": "",
            },
        )

    message = Message.objects.get(subject="Forged")
    assert response.status_code == 302 and message.sender_id == ann.pk
    assert recipients(message) == {ann_child.pk}
    assert not Notification.objects.filter(message=message, user=outsider.user).exists()
    assert [m.to for m in mail.outbox if m.subject == "Forged"] == [[ann_child.user.email]]


def test_email_batches_are_idempotent(settings, team, django_capture_on_commit_callbacks):
    settings.LADDER_MESSAGING_EMAIL_BATCH_SIZE = 2
    leader, ann, ann_child, bob, _ = team
    more = make_chain(3, sponsor=bob)
    EmailOptOut.objects.create(user=ann.user, kind=NotificationKind.MESSAGE)
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_send(sender=leader, subject="News", body="*x*", audience="all")
    mail.outbox.clear()

    work = services.message_deliver(message_id=message.pk)
    for batch in work:
        services.message_email_batch(message_id=message.pk, delivery_ids=batch)
    first_run = len(mail.outbox)
    again = services.message_deliver(message_id=message.pk)
    for batch in work:
        services.message_email_batch(message_id=message.pk, delivery_ids=batch)

    assert len(work) == 3  # 6 recipients, 2 per batch
    assert first_run == 5 and len(mail.outbox) == 5  # ann opted out; nobody twice
    assert MessageDelivery.objects.filter(message=message).count() == 6
    assert {m.to[0] for m in mail.outbox} == {p.user.email for p in [ann_child, bob, *more]}
    assert again == [[d.pk for d in MessageDelivery.objects.filter(recipient=ann)]]


def test_delivery_task_runs_the_whole_chain(team, eager_celery, django_capture_on_commit_callbacks):
    leader, *_ = team
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_send(sender=leader, subject="Chain", body="x", audience="all")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):  # batches go out after its commit
        deliver_message_task.apply(args=[message.pk])

    progress = services.message_progress(Message.objects.get(pk=message.pk))
    assert progress == {
        "status": "delivered",
        "total": 3,
        "delivered": 3,
        "emailed": 3,
        "is_done": True,
    }
    assert len(mail.outbox) == 3


def test_rate_limit_refuses_with_a_clear_message(
    client, settings, team, django_capture_on_commit_callbacks
):
    settings.LADDER_MESSAGING_MAX_PER_DAY = 2
    leader, *_ = team
    client.force_login(leader.user)
    data = {"subject": "S", "body": "x", "audience": "all"}
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(2):
            assert client.post(reverse("messaging:message_new"), data).status_code == 302
        response = client.post(reverse("messaging:message_new"), data)

    assert response.status_code == 200
    assert "You can send 2 messages a day" in response.content.decode()
    assert Message.objects.filter(sender=leader).count() == 2


def test_progress_page_is_only_for_the_sender(client, team, django_capture_on_commit_callbacks):
    leader, ann, *_ = team
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_send(sender=leader, subject="P", body="x", audience="all")
    client.force_login(ann.user)
    assert client.get(reverse("messaging:message_progress", args=[message.pk])).status_code == 404
    client.force_login(leader.user)
    response = client.get(reverse("messaging:message_progress", args=[message.pk]))
    assert response.status_code == 200 and "hx-trigger" in response.content.decode()


def test_recipient_reads_sanitized_message_and_outsider_gets_404(
    client, team, django_capture_on_commit_callbacks
):
    leader, ann, _, _, outsider = team
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_send(
            sender=leader, subject="Hi", body="**Go** <script>alert(1)</script>", audience="all"
        )
    services.message_deliver(message_id=message.pk)
    client.force_login(ann.user)

    page = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()

    assert "<strong>Go</strong>" in page and "<script>alert" not in page
    assert not Notification.objects.filter(user=ann.user, message=message, read_at=None).exists()
    client.force_login(outsider.user)
    assert client.get(reverse("messaging:message_detail", args=[message.pk])).status_code == 404


def test_team_list_link_opens_the_form_with_its_filters(client):
    from django.urls import reverse

    from tests.factories import make_distributor

    leader = make_distributor()
    make_distributor(sponsor=leader)
    client.force_login(leader.user)

    team = client.get(reverse("team_list"), {"level": "1", "status": "active"}).content.decode()
    assert "audience=filter&amp;f-level=1&amp;f-status=active" in team

    form = client.get(
        reverse("messaging:message_new"), {"audience": "filter", "f-level": "1"}
    ).content.decode()
    assert 'id="id_audience_2" value="filter" checked' in form
    assert 'id="id_audience_0" value="all" checked' not in form
    assert 'name="f-level" value="1"' in form
