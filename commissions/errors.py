"""The exceptions of the commissions app: a refused action, with the message to show."""

from __future__ import annotations


class CommissionError(Exception):
    """A refused commission action, with the message a staff member should read."""


class RunInProgress(CommissionError):
    pass
