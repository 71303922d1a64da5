"""A cache that never takes a page down: Redis unreachable is a miss, not a 500.

Redis is a cache and a broker, not the system of record. ``ResilientRedisCache`` is Django's
Redis backend (configured in ``config/settings.py``) with every call guarded: when Redis does
not answer (connection refused or lost, time-out), a read is a miss, a write is dropped and the
caller computes what it wanted from the database (fragments, the commission calendar, team
statistics, staff overview volumes). The failure is logged at most once a minute per process,
and Redis is not tried again for ``RETRY_SECONDS``, so an outage costs one connection attempt
every few seconds, not one per cache call.

Rate limits cannot simply miss: a limit that forgets its count fails open, and the login
lockout with it. Keys starting with one of ``FALLBACK_KEY_PREFIXES`` (allauth's limits, under
``allauth:rl:``) go to the ``FALLBACK`` cache alias instead while Redis is down: a database
table (Django's ``DatabaseCache``), so sign-up, login and password reset keep counting and
refusing past their limit. When Redis answers again the limits count there, from zero.

What an outage can leave behind: a delete or increment dropped while Redis was down leaves the
old entry in Redis until it expires (fragments 10 minutes, the calendar one minute).
Sessions are not kept in the cache for that reason (``SESSION_ENGINE`` is the database).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
RETRY_SECONDS = 5.0


class RateLimitedLog:
    """Log a recurring failure at most once per ``every`` seconds (per process), with the
    number of failures since the last report."""

    def __init__(self, log: logging.Logger, message: str, *, every: float = 60.0) -> None:
        self.log = log
        self.message = message
        self.every = every
        self._lock = threading.Lock()
        self._last_report: float | None = None
        self._suppressed = 0

    def failure(self, error: BaseException, **extra: Any) -> bool:
        """Count a failure; log it if the last report is old enough. True when logged."""
        now = time.monotonic()
        with self._lock:
            if self._last_report is not None and now - self._last_report < self.every:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last_report = self._suppressed, 0, now
        self.log.warning(
            self.message,
            extra={"error": f"{type(error).__name__}: {error}", "suppressed": suppressed, **extra},
        )
        return True


cache_unavailable_log = RateLimitedLog(
    logger, "cache unavailable: serving without it (computing what it would have held)"
)

# Location → monotonic time until which Redis is not tried again (shared by every thread's
# backend instance of the same cache).
_down_until: dict[str, float] = {}


def _guarded(operation: str, *, default: Callable[..., Any]):
    """Run the Redis operation; when Redis is unreachable, log, remember it for a few seconds
    and answer ``default(self, *args, **kwargs)`` (which may use the fallback cache)."""

    def decorate(method):
        @wraps(method)
        def guarded(self, *args, **kwargs):
            if self.is_down():
                return default(self, *args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE_ERRORS as error:
                _down_until[self.location] = time.monotonic() + self.retry_seconds
                cache_unavailable_log.failure(error, cache_operation=operation)
                return default(self, *args, **kwargs)

        return guarded

    return decorate


def _key_arg(args, kwargs):
    return kwargs["key"] if "key" in kwargs else args[0]


def _fallback_or(value: Callable[..., Any], method: str):
    """The default of a one-key operation: the fallback cache for rate-limit keys, else
    ``value(*args, **kwargs)``."""

    def default(self, *args, **kwargs):
        fallback = self.fallback_for(_key_arg(args, kwargs))
        if fallback is not None:
            return getattr(fallback, method)(*args, **kwargs)
        return value(*args, **kwargs)

    return default


def _missing_incr(key, delta=1, version=None):
    raise ValueError(f"Key {key!r} not found (the cache is unavailable).")


class ResilientRedisCache(RedisCache):
    """Django's ``RedisCache`` that survives Redis being down (see the module docstring).

    Extra ``OPTIONS``: ``FALLBACK`` (a cache alias), ``FALLBACK_KEY_PREFIXES`` and
    ``RETRY_SECONDS`` (how long Redis is left alone after it failed)."""

    def __init__(self, server, params) -> None:
        params = {**params, "OPTIONS": dict(params.get("OPTIONS") or {})}
        self.fallback_alias: str | None = params["OPTIONS"].pop("FALLBACK", None)
        self.fallback_prefixes = tuple(params["OPTIONS"].pop("FALLBACK_KEY_PREFIXES", ()))
        self.retry_seconds = float(params["OPTIONS"].pop("RETRY_SECONDS", RETRY_SECONDS))
        super().__init__(server, params)
        self.location = str(server)

    def is_down(self) -> bool:
        until = _down_until.get(self.location)
        if until is None:
            return False
        if time.monotonic() >= until:
            _down_until.pop(self.location, None)  # try Redis again
            return False
        return True

    def fallback_for(self, key: str):
        if self.fallback_alias and str(key).startswith(self.fallback_prefixes):
            return caches[self.fallback_alias]
        return None

    add = _guarded("add", default=_fallback_or(lambda *a, **k: False, "add"))(RedisCache.add)
    get = _guarded(
        "get",
        default=_fallback_or(
            lambda key, default=None, version=None: default,
            "get",
        ),
    )(RedisCache.get)
    set = _guarded("set", default=_fallback_or(lambda *a, **k: None, "set"))(RedisCache.set)
    touch = _guarded("touch", default=_fallback_or(lambda *a, **k: False, "touch"))(
        RedisCache.touch
    )
    delete = _guarded("delete", default=_fallback_or(lambda *a, **k: False, "delete"))(
        RedisCache.delete
    )
    has_key = _guarded("has_key", default=_fallback_or(lambda *a, **k: False, "has_key"))(
        RedisCache.has_key
    )
    incr = _guarded("incr", default=_fallback_or(_missing_incr, "incr"))(RedisCache.incr)
    get_many = _guarded("get_many", default=lambda self, *a, **k: {})(RedisCache.get_many)
    set_many = _guarded("set_many", default=lambda self, data, *a, **k: list(data))(
        RedisCache.set_many
    )
    delete_many = _guarded("delete_many", default=lambda self, *a, **k: None)(
        RedisCache.delete_many
    )
    clear = _guarded("clear", default=lambda self: False)(RedisCache.clear)
