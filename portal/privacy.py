"""Privacy: a person's own data as a download, and erasure by pseudonymization.

Export
------
``personal_data_export(user=...)`` returns a zip holding ``data.json`` (everything) and one CSV
per section: profile, distributor record (payout method and account included), enrollment
(consent), customers, orders and their lines, and statement lines (results and ledger lines of
closed periods). Every query is keyed by the person's own user or distributor id: nothing of
anyone else is included beyond the sponsor's number (part of their own record).

Erasure
-------
A person asks (``erasure_request``); staff approve with a reason (``erasure_approve``). Approval
pseudonymizes: the user's name and email, phone numbers, the enrollment phone, the payout method
and account, and the personal data of their retail customers are replaced by a pseudonym or
emptied; the password becomes unusable, the account inactive, sessions and two-factor devices
removed, and allauth's email addresses replaced by the pseudonym. The distributor row (tree
position, number, sponsor), orders' amounts, volumes and the commission ledger are kept
untouched, so the tree and the books stay balanced. The decision (who, when, why) stays on the
request. Approving twice changes nothing.
"""

from __future__ import annotations

import io
import json
import zipfile

from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import Enrollment, User
from commissions.models import (
    LOCKED_STATUSES,
    CommissionLine,
    CommissionPeriod,
    DistributorResult,
    Schedule,
    line_rate_percent,
)
from compliance.models import ErasureRequest, ErasureStatus
from core.csv import safe_dict_writer
from core.money import cents_to_decimal
from genealogy.models import Distributor
from orders.models import Customer, Order, OrderLine

ERASED_DOMAIN = "erased.invalid"


class PersonalDataEncoder(DjangoJSONEncoder):
    """Django's encoder, plus phone numbers as their E.164 text."""

    def default(self, o):
        if isinstance(o, PhoneNumber):
            return str(o)
        return super().default(o)


class PrivacyError(Exception):
    """A privacy request that cannot be done, with the reason a person should read."""


def _cents(value: int) -> str:
    return str(cents_to_decimal(value))


def personal_data(user: User) -> dict[str, list[dict]]:
    """Every section of the export, as lists of plain dicts."""
    distributor = Distributor.objects.filter(user=user).first()
    data: dict[str, list[dict]] = {
        "profile": [
            {
                "email": user.email,
                "name": user.name,
                "date_joined": user.date_joined,
                "last_login": user.last_login,
                "email_addresses": ", ".join(
                    EmailAddress.objects.filter(user=user).values_list("email", flat=True)
                ),
            }
        ],
        "enrollment": list(
            Enrollment.objects.filter(user=user).values(
                "sponsor__number",
                "country",
                "phone",
                "policies_version",
                "accepted_at",
                "completed_at",
            )
        ),
        "distributor": [],
        "customers": [],
        "orders": [],
        "order_lines": [],
        "statements": [],
        "statement_lines": [],
    }
    if distributor is None:
        return data
    data["distributor"] = [
        {
            "number": distributor.number,
            "referral_code": distributor.referral_code,
            "sponsor_number": distributor.sponsor.number if distributor.sponsor_id else None,
            "status": distributor.status,
            "joined_on": distributor.joined_on,
            "country": str(distributor.country),
            "phone": distributor.phone,
            "share_phone_with_team": distributor.share_phone_with_team,
            "payout_method": distributor.payout_method,
            "payout_account": distributor.payout_account,
        }
    ]
    data["customers"] = list(
        Customer.objects.filter(distributor=distributor)
        .order_by("id")
        .values("id", "name", "email", "phone", "address", "created_at")
    )
    data["orders"] = list(
        Order.objects.filter(distributor=distributor)
        .order_by("id")
        .values(
            "id",
            "purpose",
            "customer_id",
            "status",
            "currency",
            "total_amount",
            "total_pv",
            "total_cv",
            "retail_profit",
            "placed_at",
            "paid_at",
            "shipped_at",
            "cancelled_at",
        )
    )
    data["order_lines"] = list(
        OrderLine.objects.filter(order__distributor=distributor)
        .order_by("id")
        .values("order_id", "sku", "name", "quantity", "unit_price", "amount", "pv", "cv")
    )
    # Months and pay weeks alike: a week is named by its first day ("week of 2026-03-09").
    runs = {
        run_id: f"{month:%Y-%m}" if schedule == Schedule.MONTHLY else f"week of {month:%Y-%m-%d}"
        for run_id, month, schedule in CommissionPeriod.every_schedule.filter(
            status__in=LOCKED_STATUSES, current_run__isnull=False
        ).values_list("current_run_id", "month", "schedule")
    }
    for row in (
        DistributorResult.objects.filter(run_id__in=list(runs), distributor=distributor)
        .order_by("run_id")
        .values("run_id", "pv", "gv", "paid_as_rank", "period_total", "payable", "carried_out")
    ):
        data["statements"].append(
            {
                "period": runs[row["run_id"]],
                "pv": _cents(row["pv"]),
                "gv": _cents(row["gv"]),
                "paid_as_rank": row["paid_as_rank"],
                "period_total": _cents(row["period_total"]),
                "payable": _cents(row["payable"]),
                "carried_out": _cents(row["carried_out"]),
            }
        )
    for line in (
        CommissionLine.objects.filter(run_id__in=list(runs), earner=distributor)
        .order_by("run_id", "position")
        .values("run_id", "kind", "level", "base", "rate_ppm", "rate_units", "amount")
    ):
        data["statement_lines"].append(
            {
                "period": runs[line["run_id"]],
                "kind": line["kind"],
                "level": line["level"],
                "base": _cents(line["base"]),
                "rate_percent": str(line_rate_percent(line["rate_ppm"], line["rate_units"])),
                "amount": _cents(line["amount"]),
            }
        )
    return data


def personal_data_export(*, user: User) -> bytes:
    """A zip of ``data.json`` and one CSV per section of the person's own data."""
    data = personal_data(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json", json.dumps(data, cls=PersonalDataEncoder, indent=2, ensure_ascii=False)
        )
        for section, rows in data.items():
            text = io.StringIO()
            if rows:
                writer = safe_dict_writer(text, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            archive.writestr(f"{section}.csv", text.getvalue())
    return buffer.getvalue()


def erasure_request(*, user: User, note: str = "") -> ErasureRequest:
    """Ask for erasure; a second request while one waits returns the waiting one."""
    if user.is_staff:
        raise PrivacyError("Staff accounts are closed by an administrator, not erased here.")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        waiting = ErasureRequest.objects.filter(user=user, status=ErasureStatus.REQUESTED).first()
        if waiting is not None:
            return waiting
        return ErasureRequest.objects.create(user=user, note=(note or "").strip())


def _decide(request: ErasureRequest, *, by, reason: str) -> ErasureRequest:
    reason = (reason or "").strip()
    if not reason:
        raise PrivacyError("A decision on an erasure request needs a reason.")
    return ErasureRequest.objects.select_for_update().get(pk=request.pk)


def erasure_reject(*, request: ErasureRequest, by, reason: str) -> ErasureRequest:
    with transaction.atomic():
        locked = _decide(request, by=by, reason=reason)
        if locked.status != ErasureStatus.REQUESTED:
            raise PrivacyError(f"This request is already {locked.get_status_display().lower()}.")
        locked.status, locked.decided_by, locked.decided_at = (
            ErasureStatus.REJECTED,
            by,
            timezone.now(),
        )
        locked.decision_reason = reason.strip()
        locked.save()
        return locked


def erasure_approve(*, request: ErasureRequest, by, reason: str) -> ErasureRequest:
    """Pseudonymize the person (idempotent: an approved request is returned unchanged)."""
    with transaction.atomic():
        locked = _decide(request, by=by, reason=reason)
        if locked.status == ErasureStatus.APPROVED:
            return locked
        if locked.status != ErasureStatus.REQUESTED:
            raise PrivacyError(f"This request is already {locked.get_status_display().lower()}.")
        user = User.objects.select_for_update().get(pk=locked.user_id)
        if user.is_staff:
            raise PrivacyError("Staff accounts are not erased through this request.")
        pseudonym = pseudonymize_user(user)
        locked.status, locked.decided_by, locked.decided_at = (
            ErasureStatus.APPROVED,
            by,
            timezone.now(),
        )
        locked.decision_reason, locked.pseudonym, locked.note = reason.strip(), pseudonym, ""
        locked.save()
        return locked


def pseudonymize_user(user: User) -> str:
    """Replace the person's personal data in place; returns the pseudonym."""
    pseudonym = f"erased-{user.pk}"
    email = f"{pseudonym}@{ERASED_DOMAIN}"
    distributor = Distributor.objects.filter(user=user).first()
    user.name = f"Erased person #{distributor.number if distributor else user.pk}"
    user.email = email
    user.is_active = False
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=email, verified=False, primary=True)
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=user).delete()
    _delete_sessions(user.pk)
    Enrollment.objects.filter(user=user).update(phone="")
    if distributor is not None:
        Distributor.objects.filter(pk=distributor.pk).update(
            phone="", share_phone_with_team=False, payout_method="", payout_account=""
        )
        Customer.objects.filter(distributor=distributor).update(
            name=Concat(Value("Erased customer #"), Cast("id", CharField())),
            email="",
            phone="",
            address="",
        )
    return pseudonym


def _delete_sessions(user_id: int) -> None:
    """Log the person out everywhere (database sessions; other backends expire on their own)."""
    key = str(user_id)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == key:
            session.delete()
