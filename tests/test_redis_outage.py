"""Redis down: pages, sign-ups, logins and orders keep working, and no task is lost.

Each test that stops Redis starts its own ``redis-server`` on a free port (never the shared
one), points the cache and the Celery broker at it, and kills it.
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from django.core import mail
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from config.celery import app as celery_app
from core.fragments import cached_fragment
from genealogy.models import Distributor
from messaging.models import Notification, NotificationKind
from orders.models import Order, OrderStatus
from outbox.models import OutboxStatus, OutboxTask
from outbox.services import enqueue, relay_outbox
from tests.celery_worker import start_worker, stop_worker
from tests.factories import PASSWORD, ProductFactory, make_distributor

STRONG_PASSWORD = "violet-harbour-1987"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A ``redis-server`` of this test's own, that the test can kill and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            # Every write on disk before it is answered: a restart comes back with all of it.
            + ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def queue_length(self, queue: str) -> int:
        return redis.Redis(port=self.port, db=0).llen(queue)


def use_broker(url: str, transport_options: dict) -> None:
    """Point this process's Celery app at another broker (its connection pools start over)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = transport_options
    celery_app._pool = None  # kombu keeps one pool per URL: the old one is found again
    celery_app.amqp._producer_pool = None


@pytest.fixture
def own_redis(tmp_path, settings):
    """Our own Redis, used by this process as its cache (db 1) and broker (db 0)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = OwnRedis(folder)
    server.start()
    configured = settings.CACHES["default"]
    assert configured["BACKEND"] == "core.cache.ResilientRedisCache"  # what settings.py sets
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **configured,
            "LOCATION": server.url(1),
            # Try Redis again soon after it failed (the default, 5 s, makes the test slow).
            "OPTIONS": {**configured["OPTIONS"], "RETRY_SECONDS": 0.2},
        },
    }
    before = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    use_broker(server.url(0), settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    yield server
    server.kill()
    use_broker(*before)


def wait_for(condition, *, timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.25)


def signup_data(index: int) -> dict:
    return {
        "name": f"Outage Person {index}",
        "email": f"outage{index}@example.com",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
        "country": "US",
        "phone": "+1 202 555 0100",
        "accept_policies": "on",
        "accept_income_disclosure": "on",
    }


def confirmation_path(email: str) -> str:
    body = next(m.body for m in reversed(mail.outbox) if email in m.to)
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", body).group(1)


# --- The whole story ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sign_ups_and_orders_during_an_outage_all_happen_once_redis_is_back(
    own_redis, settings, tmp_path
):
    # Given a sponsor, a distributor who orders, and a product; then Redis dies
    sponsor = make_distributor(name="Maria Sponsor", email="maria@example.com")
    buyer = make_distributor(sponsor=sponsor, email="buyer@example.com")
    product = ProductFactory(sku="OUT", name="Outage tea")
    settings.LADDER_ONLINE_PAYMENT_PROVIDER = "test"
    OutboxTask.objects.all().delete()  # what setting up the company queued
    own_redis.kill()

    # When three people sign up through the form and verify their address
    for index in range(3):
        visitor = Client()
        signed_up = visitor.post(reverse("join", args=[sponsor.referral_code]), signup_data(index))
        assert signed_up.status_code == 302, signed_up.content.decode()[:500]
        verified = visitor.post(confirmation_path(f"outage{index}@example.com"))
        assert verified.status_code == 302
        assert visitor.get(reverse("dashboard")).status_code < 500
    # ... and a distributor logs in, orders and pays
    shopper = Client()
    logged_in = shopper.post(
        reverse("account_login"), {"login": "buyer@example.com", "password": "wrong-password"}
    )
    assert logged_in.status_code == 200  # refused, not a 500
    shopper.force_login(buyer.user)
    form = {"buyer": "self", f"qty_{product.pk}": "2", "step": "place"}
    placed = shopper.post(reverse("order_new"), form)
    assert placed.status_code == 302
    order = Order.objects.get(distributor=buyer)
    assert shopper.post(reverse("order_pay", args=[order.pk])).status_code == 302
    assert shopper.get(reverse("dashboard")).status_code == 200

    # Then everything was written, and the tasks wait in the outbox
    recruits = Distributor.objects.filter(user__email__startswith="outage")
    assert recruits.count() == 3 and not recruits.filter(placed_at__isnull=False).exists()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    waiting = OutboxTask.objects.filter(status=OutboxStatus.PENDING)
    assert waiting.filter(task_name="messaging.notify_new_recruit").count() == 3
    assert waiting.filter(task_name="genealogy.place_pending_distributors").exists()
    assert not Notification.objects.filter(kind=NotificationKind.NEW_RECRUIT).exists()

    # When Redis comes back and a worker starts: its relay publishes the outbox, it runs them
    own_redis.start()
    mail_folder = tmp_path / "mail"
    worker = start_worker(
        "celery",
        CELERY_BROKER_URL=own_redis.url(0),
        CACHE_URL=own_redis.url(1),
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_folder),
        LADDER_OUTBOX_RELAY_SECONDS="1",
    )
    try:
        wait_for(
            lambda: not OutboxTask.objects.exclude(status=OutboxStatus.SENT).exists(),
            what="the outbox to be sent",
        )
        wait_for(lambda: recruits.filter(placed_at__isnull=False).count() == 3, what="placements")
        notifications = Notification.objects.filter(
            user=sponsor.user, kind=NotificationKind.NEW_RECRUIT, title__startswith="Outage"
        )
        wait_for(lambda: notifications.filter(emailed_at__isnull=False).count() == 3, what="emails")
    finally:
        stop_worker(worker)

    # Then every placement, notification and email happened, each once
    assert sorted(n.title for n in notifications) == [
        f"Outage Person {index} joined your team" for index in range(3)
    ]
    sent = "\n".join(path.read_text() for path in mail_folder.iterdir())
    for index in range(3):
        assert sent.count(f"Subject: Outage Person {index} joined your team") == 1
    assert OutboxTask.objects.filter(status=OutboxStatus.SENT).count() == OutboxTask.objects.count()


# --- Cache calls degrade --------------------------------------------------------------------


@pytest.fixture
def redis_down(own_redis):
    own_redis.kill()
    return own_redis


@pytest.mark.django_db
def test_fragments_are_computed_when_the_cache_is_down_and_logged_once(redis_down, caplog):
    renders = []

    def render() -> str:
        renders.append(1)
        return "<p>fresh</p>"

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        first = cached_fragment(["statement", 1], render)
        second = cached_fragment(["statement", 1], render)
        time.sleep(0.3)  # past the retry pause: Redis is tried, and fails, again
        third = cached_fragment(["statement", 1], render)

    assert first == second == third == "<p>fresh</p>"
    assert len(renders) == 3  # computed every time, since nothing could be kept
    reports = [r for r in caplog.records if r.name == "core.cache"]
    assert len(reports) == 1  # at most once a minute
    assert "cache unavailable" in reports[0].getMessage()


@pytest.mark.django_db
def test_pages_are_served_from_the_database_when_the_cache_is_down(redis_down, client):
    from commissions.calendar import commission_calendar

    distributor = make_distributor(email="pages@example.com")
    client.force_login(distributor.user)

    assert commission_calendar().period is not None
    for name in ("dashboard", "team_list", "orders_home", "earnings_home"):
        assert client.get(reverse(name)).status_code == 200, name
    assert cache.get("anything") is None and cache.add("anything", 1) is False


@pytest.mark.django_db
def test_rate_limits_count_in_the_database_while_redis_is_down(redis_down, settings):
    # Given Redis down and a login lockout of 3 failures per key
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/5m/key"}
    make_distributor(email="locked@example.com")
    visitor = Client()

    def log_in(password: str):
        return visitor.post(
            reverse("account_login"), {"login": "locked@example.com", "password": password}
        )

    # Then the right password works (the limiter does not fail closed) ...
    assert log_in(PASSWORD).status_code == 302
    visitor.logout()
    # ... and after three failures even the right one is refused (it does not fail open)
    for _ in range(3):
        assert log_in("not-the-password").status_code == 200
    refused = log_in(PASSWORD)
    assert refused.status_code == 200
    assert refused.context["form"].errors  # a message on the form, never a 500
    assert "_auth_user_id" not in visitor.session


@pytest.mark.django_db
def test_a_logout_during_an_outage_is_not_undone_when_redis_returns(own_redis):
    # Given a logged-in distributor whose session was used while Redis was up
    distributor = make_distributor(email="session@example.com")
    visitor = Client()
    assert visitor.login(email="session@example.com", password=PASSWORD)
    assert visitor.get(reverse("dashboard")).status_code == 200
    cookie = visitor.cookies["sessionid"].value
    # When they log out while Redis is down, and Redis comes back (with whatever it held)
    own_redis.kill()
    visitor.post(reverse("account_logout"))
    own_redis.start()
    time.sleep(0.3)
    # Then the old session cookie is worth nothing
    replay = Client()
    replay.cookies["sessionid"] = cookie
    response = replay.get(reverse("dashboard"))
    assert response.status_code == 302 and reverse("account_login") in response.url
    assert distributor.user.pk == User.objects.get(email="session@example.com").pk


# --- The outbox -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_transaction_enqueues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("genealogy.place_pending_distributors", idempotency_key="rolled-back")
        raise RuntimeError("the request failed")
    assert not OutboxTask.objects.filter(idempotency_key="rolled-back").exists()


@pytest.mark.django_db
def test_the_same_key_is_one_row():
    enqueue("genealogy.place_pending_distributors", idempotency_key="once")
    enqueue("genealogy.place_pending_distributors", idempotency_key="once")
    assert OutboxTask.objects.filter(idempotency_key="once").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_answers_and_keeps_its_task_when_the_broker_is_down(redis_down):
    sponsor = make_distributor()
    newcomer = make_distributor(sponsor=sponsor, place=False)  # commits; publishing fails

    row = OutboxTask.objects.get(idempotency_key=f"messaging.notify_new_recruit:{newcomer.pk}")
    assert row.status == OutboxStatus.PENDING
    assert relay_outbox().broker_available is False
    assert not OutboxTask.objects.exclude(status=OutboxStatus.PENDING).exists()
    tried = OutboxTask.objects.order_by("id").first()  # the relay stops at the first refusal
    assert tried.attempts >= 1 and "Connection refused" in tried.last_error


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_publish_each_row_exactly_once(own_redis):
    # Given 300 tasks waiting in the outbox for a queue nobody consumes
    own_redis.kill()
    with transaction.atomic():
        for index in range(300):
            enqueue(
                "genealogy.place_pending_distributors",
                idempotency_key=f"concurrent:{index}",
                queue="outbox-test",
            )
    own_redis.start()
    time.sleep(0.3)
    start = threading.Barrier(4)

    def relay() -> int:
        try:
            start.wait()
            return relay_outbox(batch_size=20).published
        finally:
            connection.close()

    # When four relays run at once
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(relay())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every row was published once: 300 messages in the queue, 300 rows sent
    assert sum(results) == 300
    assert own_redis.queue_length("outbox-test") == 300
    assert OutboxTask.objects.filter(status=OutboxStatus.SENT).count() == 300


@pytest.mark.django_db
def test_staff_see_the_outbox_and_put_failed_tasks_back_in_line(client):
    from django_celery_beat.models import PeriodicTask

    from tests.factories import UserFactory, log_in_with_mfa

    failed = OutboxTask.objects.create(
        task_name="messaging.notify_new_recruit",
        idempotency_key="failed-one",
        status=OutboxStatus.FAILED,
        attempts=10,
        last_error="EncodeError: cannot serialize",
    )
    log_in_with_mfa(client, UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:outbox_outboxtask_changelist"), {"status": "failed"})
    assert page.status_code == 200 and "EncodeError: cannot serialize" in page.content.decode()
    client.post(
        reverse("admin:outbox_outboxtask_changelist"),
        {"action": "retry", "_selected_action": [failed.pk]},
    )
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxStatus.PENDING, 0)
    beat = PeriodicTask.objects.get(task="outbox.relay")  # the safety net
    assert beat.enabled and (beat.interval.every, beat.interval.period) == (30, "seconds")
