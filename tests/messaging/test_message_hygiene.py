"""Team messages: no remote images, a length limit, no empty audience eating the daily limit,
and a form that looks like the rest of the product."""

import pytest
from django.core import mail
from django.urls import reverse

from messaging import services
from messaging.models import Message
from tests.factories import make_distributor

pytestmark = pytest.mark.django_db

PIXEL = "https://tracker.example/open.gif?who=ann"


@pytest.fixture
def leader():
    """leader → ann, bob."""
    leader = make_distributor(name="Leader")
    make_distributor(sponsor=leader, name="Ann Alpha")
    make_distributor(sponsor=leader, name="Bob Beta")
    return leader


def test_remote_images_are_shown_neither_in_the_app_nor_in_the_email(
    client, leader, eager_celery, django_capture_on_commit_callbacks
):
    ann = leader.enrollees.get(user__name="Ann Alpha")
    body = f'Hello ![logo]({PIXEL}) and <img src="{PIXEL}" width="1" height="1"> **team**'
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_send(sender=leader, subject="Hi", body=body, audience="all")
    client.force_login(ann.user)

    page = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    [html_email] = {
        alt for m in mail.outbox if m.to == [ann.user.email] for alt, _ in m.alternatives
    }

    assert "<strong>team</strong>" in page and "<strong>team</strong>" in html_email
    assert "tracker.example" not in page and "<img" not in page
    assert "tracker.example" not in html_email and "<img" not in html_email


def test_a_message_longer_than_the_limit_is_refused_with_a_clear_error(client, leader, settings):
    settings.LADDER_MESSAGING_MAX_BODY_CHARS = 50
    client.force_login(leader.user)

    response = client.post(
        reverse("messaging:message_new"), {"subject": "S", "body": "x" * 51, "audience": "all"}
    )

    assert response.status_code == 200
    assert "A message can be at most 50 characters long; this one has 51." in (
        response.content.decode()
    )
    assert not Message.objects.filter(sender=leader).exists()
    with pytest.raises(services.MessageRefused, match="at most 50 characters"):
        services.message_send(sender=leader, subject="S", body="x" * 51, audience="all")


def test_an_audience_of_nobody_is_refused_before_it_counts_against_the_daily_limit(
    client, leader, settings, django_capture_on_commit_callbacks
):
    settings.LADDER_MESSAGING_MAX_PER_DAY = 1
    client.force_login(leader.user)
    nobody = {"subject": "S", "body": "x", "audience": "filter", "f-q": "No such name"}

    with django_capture_on_commit_callbacks(execute=False):
        refused = [client.post(reverse("messaging:message_new"), nobody) for _ in range(2)]
        sent = client.post(
            reverse("messaging:message_new"), {"subject": "S", "body": "x", "audience": "all"}
        )

    assert [r.status_code for r in refused] == [200, 200]
    assert "Nobody in your team matches this choice of recipients" in refused[0].content.decode()
    assert sent.status_code == 302  # the refused ones used up nothing
    assert Message.objects.filter(sender=leader).count() == 1


def test_a_person_without_a_downline_cannot_send_to_nobody(client):
    alone = make_distributor()
    client.force_login(alone.user)
    response = client.post(
        reverse("messaging:message_new"), {"subject": "S", "body": "x", "audience": "all"}
    )
    assert "Nobody in your team matches" in response.content.decode()
    assert not Message.objects.exists()


def test_an_unreadable_filter_is_refused_instead_of_reaching_the_whole_team(client, leader):
    client.force_login(leader.user)
    response = client.post(
        reverse("messaging:message_new"),
        {"subject": "S", "body": "x", "audience": "filter", "f-joined_from": "not a date"},
    )
    assert response.status_code == 200
    assert "Correct the team list filter" in response.content.decode()
    assert not Message.objects.exists()


def test_the_form_uses_the_products_field_markup(client, leader):
    client.force_login(leader.user)
    html = client.get(reverse("messaging:message_new")).content.decode()
    assert '<label class="form-label" for="id_subject">Subject' in html
    assert 'class="form-control" aria-describedby="id_body_help"' in html
    assert 'class="form-check-input" type="radio" name="audience"' in html
    assert 'class="form-control" id="id_f-q"' in html or 'id="id_f-q"' in html
