"""The relay's loop in the worker and beat processes: publish pending outbox rows every
``LADDER_OUTBOX_RELAY_SECONDS``, whether or not the broker answered a moment ago (it runs in the
process, so it needs no broker to be started; beat's ``outbox.relay`` task is the safety net)."""

from __future__ import annotations

import logging
import threading

from celery.signals import beat_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connection

from core.cache import RateLimitedLog

logger = logging.getLogger(__name__)
relay_error_log = RateLimitedLog(logger, "outbox relay pass failed; retrying")

_stop = threading.Event()
_started = threading.Lock()
_thread: threading.Thread | None = None


def relay_forever(stop: threading.Event, every: float) -> None:
    from .services import relay_outbox

    while not stop.is_set():
        try:
            close_old_connections()
            relay_outbox()
        except Exception as error:  # noqa: BLE001 - the database may be away too: try again
            relay_error_log.failure(error)
        stop.wait(every)
    connection.close()


def start_relay(**_kwargs) -> None:
    global _thread
    every = settings.LADDER_OUTBOX_RELAY_SECONDS
    if every <= 0:
        return
    with _started:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(
            target=relay_forever, args=(_stop, every), name="outbox-relay", daemon=True
        )
        _thread.start()


def stop_relay(**_kwargs) -> None:
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=10)


worker_ready.connect(start_relay, weak=False, dispatch_uid="outbox.relay.worker")
beat_init.connect(start_relay, weak=False, dispatch_uid="outbox.relay.beat")
worker_shutdown.connect(stop_relay, weak=False, dispatch_uid="outbox.relay.stop")
