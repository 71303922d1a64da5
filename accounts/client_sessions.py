"""Test-client sessions for the test suite and the benchmarks (never used by a request).

`log_in_with_mfa` gives a Django test `Client` the session a staff member has after allauth's
code step, so pages that need staff powers can be measured and tested without typing codes.
"""

from __future__ import annotations

from types import SimpleNamespace


def log_in_with_mfa(client, user) -> None:
    """Log ``user`` in with a session that passed two-factor authentication, as after
    allauth's code step (TOTP turned on first when it is off): staff get staff powers."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        totp = TOTP.activate(user, generate_totp_secret()).instance
    client.force_login(user)
    session = client.session
    record_authentication(SimpleNamespace(session=session), user, "mfa", id=totp.pk, type="totp")
    session.save()
