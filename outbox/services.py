"""The transactional outbox: a task is written with the data it is about, then published.

``enqueue`` inserts an ``OutboxTask`` row in the caller's transaction (a rollback enqueues
nothing) and, once the transaction commits, tries to publish that row at once. When the broker
does not answer, the row stays pending and the relay publishes it later: a thread started with
the worker (and with beat) every ``LADDER_OUTBOX_RELAY_SECONDS``, and beat's ``outbox.relay``
task as a safety net. Each row is published once: the relay locks the rows it publishes
(``SELECT ... FOR UPDATE SKIP LOCKED``), so concurrent relays never take the same row, and marks
them sent in the same transaction. A relay that dies between publishing and committing leaves
the row pending, so it is published again: tasks are idempotent, which makes that harmless.

With ``CELERY_TASK_ALWAYS_EAGER`` (or the filesystem broker of ``make run``) "publishing" runs
the task, or hands it to the local broker, right after the commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.cache import RateLimitedLog

from .models import OutboxStatus, OutboxTask

logger = logging.getLogger(__name__)

BROKER_ERRORS = (KombuOperationalError, RedisConnectionError, RedisTimeoutError, OSError)
# After the broker failed, requests leave their rows to the relay for this long (one slow
# connection attempt per process every few seconds, not one per request).
BROKER_RETRY_SECONDS = 10.0
# A row refused this many times for a reason other than the broker is set aside as failed.
MAX_ATTEMPTS = 10
BATCH_SIZE = 200

broker_unavailable_log = RateLimitedLog(
    logger, "broker unavailable: tasks wait in the outbox until it answers"
)
_broker_down_until: dict[str, float] = {}  # broker URL → monotonic time


@dataclass(frozen=True)
class RelayResult:
    published: int
    failed: int
    broker_available: bool


def enqueue(
    task,
    *,
    args: Sequence = (),
    kwargs: dict | None = None,
    idempotency_key: str | None = None,
    eta: dt.datetime | None = None,
    queue: str = "",
) -> str:
    """Write ``task`` (a Celery task or its name) to the outbox in the current transaction and
    publish it after commit. A key already in the outbox adds nothing. Returns the key."""
    name = task if isinstance(task, str) else task.name
    key = idempotency_key or f"{name}:{uuid.uuid4().hex}"
    OutboxTask.objects.bulk_create(
        [
            OutboxTask(
                task_name=name,
                args=list(args),
                kwargs=dict(kwargs or {}),
                idempotency_key=key,
                eta=eta,
                queue=queue,
            )
        ],
        ignore_conflicts=True,
    )

    def publish_after_commit() -> None:
        publish_committed([key])

    transaction.on_commit(publish_after_commit, robust=True)
    return key


def publish_committed(keys: Sequence[str]) -> None:
    """After commit: publish these rows now, unless the broker just failed in this process."""
    conf = current_app.conf
    if not conf.task_always_eager and time.monotonic() < _broker_down_until.get(conf.broker_url, 0):
        return
    relay_outbox(keys=keys)


def pending_tasks(keys: Iterable[str] | None = None):
    rows = OutboxTask.objects.filter(status=OutboxStatus.PENDING)
    return rows if keys is None else rows.filter(idempotency_key__in=list(keys))


def relay_outbox(*, keys: Sequence[str] | None = None, batch_size: int = BATCH_SIZE) -> RelayResult:
    """Publish pending rows (these keys only, when given), oldest first, each once."""
    eager = bool(current_app.conf.task_always_eager)
    published = failed = 0
    while True:
        to_run: list[OutboxTask] = []
        broker_down = False
        with transaction.atomic():
            rows = list(
                pending_tasks(keys).select_for_update(skip_locked=True).order_by("id")[:batch_size]
            )
            now = timezone.now()
            sent_ids: list[int] = []
            for row in rows:
                if eager:  # runs the task: after this transaction, so it sees no lock of ours
                    to_run.append(row)
                    sent_ids.append(row.pk)
                    continue
                try:
                    publish(row)
                except BROKER_ERRORS as error:
                    record_failure(row, error, now=now)
                    broker_failed(error)
                    broker_down = True
                    break
                except Exception as error:  # noqa: BLE001 - a row the broker cannot take
                    failed += 1
                    record_failure(row, error, now=now, give_up=row.attempts + 1 >= MAX_ATTEMPTS)
                    logger.error(
                        "outbox task refused",
                        extra={"outbox_id": row.pk, "task": row.task_name, "error": str(error)},
                    )
                else:
                    sent_ids.append(row.pk)
            if sent_ids:
                OutboxTask.objects.filter(pk__in=sent_ids).update(
                    status=OutboxStatus.SENT,
                    sent_at=now,
                    attempts=F("attempts") + 1,
                    last_attempt_at=now,
                )
        for row in to_run:
            run_eagerly(row)
        published += len(sent_ids)
        if broker_down or keys is not None or not sent_ids or len(rows) < batch_size:
            return RelayResult(published=published, failed=failed, broker_available=not broker_down)


def publish(row: OutboxTask) -> None:
    task = current_app.tasks.get(row.task_name)
    if task is None:  # a process that has not imported every app's tasks (beat, a web process)
        current_app.loader.import_default_modules()
        task = current_app.tasks[row.task_name]
    options: dict = {"task_id": f"outbox-{row.pk}", "retry": False}
    if row.eta is not None:
        options["eta"] = row.eta
    if row.queue:
        options["queue"] = row.queue
    task.apply_async(args=row.args, kwargs=row.kwargs, **options)


def run_eagerly(row: OutboxTask) -> None:
    try:
        publish(row)
    except Exception:  # noqa: BLE001 - as a worker would: logged, the others still run
        logger.exception("outbox task failed", extra={"outbox_id": row.pk, "task": row.task_name})


def record_failure(
    row: OutboxTask, error: BaseException, *, now: dt.datetime, give_up: bool = False
) -> None:
    OutboxTask.objects.filter(pk=row.pk).update(
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        last_error=f"{type(error).__name__}: {error}"[:2000],
        status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
    )


def broker_failed(error: BaseException) -> None:
    _broker_down_until[current_app.conf.broker_url] = time.monotonic() + BROKER_RETRY_SECONDS
    broker_unavailable_log.failure(error, pending=pending_tasks().count())


def retry_failed(*, ids: Iterable[int]) -> int:
    """Put failed rows back in line (the admin's action)."""
    return OutboxTask.objects.filter(pk__in=list(ids), status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, last_error=""
    )


def prune_sent(*, now: dt.datetime | None = None) -> int:
    """Delete rows sent more than ``LADDER_OUTBOX_KEEP_DAYS`` ago."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.LADDER_OUTBOX_KEEP_DAYS)
    deleted, _ = OutboxTask.objects.filter(status=OutboxStatus.SENT, sent_at__lt=cutoff).delete()
    return deleted
