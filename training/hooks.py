"""What the training pages show from a sibling app, registered by that app (never imported).

The career path puts the published income disclosure's figures beside each rank. The
statement belongs to ``compliance``, a sibling of ``training`` (siblings never import each
other): the composition root, ``PortalConfig.ready``, registers compliance's reader here;
without one the page says no statement is published.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_disclosure_reader: list[Callable[[], Any]] = []


def register_disclosure_reader(reader: Callable[[], Any]) -> None:
    """``reader()`` returns the latest published income disclosure statement (an object with
    ``year`` and ``figures``) or None. Registering again replaces the reader."""
    _disclosure_reader[:] = [reader]


def published_disclosure() -> Any:
    """The latest published income disclosure statement, or None."""
    return _disclosure_reader[0]() if _disclosure_reader else None
