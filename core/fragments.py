"""Rendered HTML fragments kept in the cache under a key that names everything they show.

A fragment is cached only under a *complete* key: the same key can only ever render the same
HTML (a closed statement is fixed by its period, status and final run; a month's progress by
the projection run it was read from). Nothing is invalidated by hand: a new run or status makes
a new key and the old entry expires.

The one thing such keys cannot name is people's names, which appear inside fragments (a
statement line names its source). Every key therefore carries a *names generation*, moved on
whenever a name or email changes (``accounts.signals``) and after an erasure, so no fragment
shows a name that is no longer true.

When Redis is down the cache answers a miss (``core/cache.py``): every fragment is rendered, and
the names generation reads as 1 until Redis is back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe

FRAGMENT_SECONDS = 600
NAMES_GENERATION_KEY = "fragments:names-generation"


def names_generation() -> int:
    generation = cache.get(NAMES_GENERATION_KEY)
    if generation is None:
        cache.add(NAMES_GENERATION_KEY, 1, timeout=None)
        generation = cache.get(NAMES_GENERATION_KEY, 1)
    return generation


def new_names_generation() -> None:
    """Retire every cached fragment, once the current transaction has committed (so a page
    rendered meanwhile cannot store the old names under the new generation)."""

    def advance() -> None:
        try:
            cache.incr(NAMES_GENERATION_KEY)
        except ValueError:  # no generation yet (or evicted): any new value retires the old keys
            cache.set(NAMES_GENERATION_KEY, names_generation() + 1, timeout=None)

    transaction.on_commit(advance)


def fragment_key(parts: Iterable[object]) -> str:
    """A short key safe for any cache backend (the parts may hold dates, quotes, spaces)."""
    named = "|".join(str(part) for part in parts) + f"|n{names_generation()}"
    return "fragment:" + hashlib.sha256(named.encode()).hexdigest()


def cached_fragment(
    parts: Iterable[object] | None, render: Callable[[], str], *, timeout: int = FRAGMENT_SECONDS
) -> SafeString:
    """The HTML ``render()`` returns for ``parts``, rendered at most once per key and timeout;
    without parts (what it shows can change at any moment) rendered every time."""
    if parts is None:
        return mark_safe(str(render()))  # noqa: S308 - our own rendered template output
    key = fragment_key(parts)
    html = cache.get(key)
    if html is None:
        html = str(render())
        cache.set(key, html, timeout)
    return mark_safe(html)  # noqa: S308 - our own rendered template output
