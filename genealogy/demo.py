"""A realistic demo company, built deterministically and in bulk.

Recruiting follows a power law (most people enroll nobody, a few enroll hundreds) through a
copy model: a newcomer is often enrolled by the sponsor of someone already in the company.
Another share joins under someone who joined just before them, which builds the long chains
that make real trees hundreds of levels deep.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.bulk import next_ids, reset_sequence, vacuum_and_analyze, write_rows

from .codes import REFERRAL_ALPHABET, REFERRAL_CODE_LENGTH
from .history import record_changes, to_epoch_us
from .labels import spread
from .models import COMPANY_TREE_ID, Distributor, DistributorStatus, TreeChange, TreeChangeKind

DEMO_PASSWORD = "ladder-demo-2026"  # noqa: S105 - published demo login
STAFF_EMAIL = "staff@ladder.example"
# Base32 secret of the demo staff member's authenticator (`manage.py demo_totp` prints codes).
STAFF_TOTP_SECRET = "LADDERDEMOSTAFFTOTPSECRET234567A"  # noqa: S105 - published demo secret
APPROVER_EMAIL = "approver@ladder.example"
APPROVER_TOTP_SECRET = "LADDERDEMOAPPROVERTOTPSECRET2345"  # noqa: S105 - published demo secret
# Two staff logins, both with an authenticator, so a second approval can be tried:
# email -> (name, TOTP secret).
STAFF_LOGINS = {
    STAFF_EMAIL: ("Sam Staff", STAFF_TOTP_SECRET),
    APPROVER_EMAIL: ("Alex Approver", APPROVER_TOTP_SECRET),
}
DEMO_LOGINS = {
    "leader": "leader@ladder.example",
    "middle": "middle@ladder.example",
    "deep": "deep@ladder.example",
    "newcomer": "new@ladder.example",
}

FIRST_NAMES = [
    "Maria",
    "James",
    "Aisha",
    "Chen",
    "Lucas",
    "Sofia",
    "Noah",
    "Olivia",
    "Mateo",
    "Amara",
    "Liam",
    "Yuki",
    "Ethan",
    "Priya",
    "Omar",
    "Emma",
    "Diego",
    "Fatima",
    "Leo",
    "Hana",
    "Daniel",
    "Grace",
    "Samuel",
    "Zara",
    "Ivan",
    "Chloe",
    "Kofi",
    "Lena",
    "Rafael",
    "Mei",
    "Hugo",
    "Nadia",
    "Arjun",
    "Elena",
    "Tomas",
    "Ines",
    "Kwame",
    "Sara",
    "Felix",
    "Ana",
]
LAST_NAMES = [
    "Lopez",
    "Smith",
    "Okafor",
    "Wang",
    "Silva",
    "Rossi",
    "Kim",
    "Nguyen",
    "Garcia",
    "Mensah",
    "Novak",
    "Patel",
    "Haddad",
    "Murphy",
    "Costa",
    "Schmidt",
    "Tanaka",
    "Dubois",
    "Ortiz",
    "Diaz",
    "Kowalski",
    "Adeyemi",
    "Jensen",
    "Moreau",
    "Santos",
    "Ibrahim",
    "Fischer",
    "Larsen",
    "Rahman",
    "Alvarez",
    "Brown",
    "Cohen",
    "Ivanova",
    "Yilmaz",
    "Mendes",
    "Walker",
    "Sato",
    "Park",
    "Reyes",
]
COUNTRIES = np.array(["US", "US", "US", "CA", "MX", "GB", "DE", "NG", "PH", "BR"])


def build_sponsor_links(count: int, rng: np.random.Generator) -> np.ndarray:
    """Sponsor index for nodes 1..count (0 is the house), vectorized block by block.

    Each block draws from earlier blocks only: 55% copy the sponsor of a random earlier person
    (preferential attachment: a heavy tail of big recruiters), 35% pick anyone earlier, 10%
    join under one of the deepest people of the previous block (the long chains).
    """
    block = max(20, count // 400)
    sponsor = np.zeros(count + 1, dtype=np.int64)
    depth = np.zeros(count + 1, dtype=np.int64)
    start = 1
    while start <= count:
        end = min(count + 1, start + block)
        size = end - start
        choice = rng.random(size)
        uniform_pick = rng.integers(0, start, size)
        if start > 1:
            someone = rng.integers(1, start, size)
            copied = np.where(sponsor[someone] == 0, someone, sponsor[someone])
            previous = np.arange(max(1, start - block), start)
            deepest = previous[np.argsort(depth[previous], kind="stable")[-5:]]
            chained = deepest[rng.integers(0, len(deepest), size)]
        else:
            copied = chained = uniform_pick
        picked = np.where(choice < 0.55, copied, np.where(choice < 0.90, uniform_pick, chained))
        sponsor[start:end] = picked
        depth[start:end] = depth[picked] + 1
        start = end
    return sponsor[1:]


def referral_codes(count: int, rng: np.random.Generator) -> list[str]:
    space = len(REFERRAL_ALPHABET) ** REFERRAL_CODE_LENGTH
    values = np.unique(rng.integers(0, space, int(count * 1.05) + 100))
    values = rng.permutation(values)[:count]
    alphabet = np.frombuffer(REFERRAL_ALPHABET.encode(), dtype=np.uint8)
    chars = np.empty((count, REFERRAL_CODE_LENGTH), dtype=np.uint8)
    for position in range(REFERRAL_CODE_LENGTH - 1, -1, -1):
        values, digit = np.divmod(values, len(REFERRAL_ALPHABET))
        chars[:, position] = alphabet[digit]
    return chars.view(f"S{REFERRAL_CODE_LENGTH}").ravel().astype(str).tolist()


def seed_company(
    *, distributors: int, seed: int = 1, progress: Callable[[str], None] = lambda _: None
) -> dict:
    """Create `distributors` people under the house, placed in the tree. Returns the logins."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    house = Distributor.objects.get(is_house=True)
    if Distributor.objects.exclude(pk=house.pk).exists():
        raise ValueError("the database already has distributors; seed_demo needs an empty company")
    n = distributors
    sponsor_index = build_sponsor_links(n, rng)
    progress(f"tree shape drawn for {n:,} distributors")

    today = timezone.localdate()
    first_day = today - dt.timedelta(days=730)
    # Growth: more people joined recently; sorted so that sponsors joined before their enrollees.
    offsets = np.sort((rng.random(n) ** 0.7) * 730).astype(np.int64)
    joined = [first_day + dt.timedelta(days=int(d)) for d in offsets.tolist()]
    status_draw = rng.random(n)
    status = np.where(
        status_draw < 0.08,
        DistributorStatus.TERMINATED,
        np.where(status_draw < 0.30, DistributorStatus.INACTIVE, DistributorStatus.ACTIVE),
    )
    first = np.array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    names = np.char.add(np.char.add(first, " "), last)
    user_ids = next_ids(User, n)
    distributor_ids = next_ids(Distributor, n)
    numbers = 10_000_001 + np.arange(n, dtype=np.int64)
    emails = [
        f"{f.lower()}.{s.lower()}.{num}@example.com"
        for f, s, num in zip(first.tolist(), last.tolist(), numbers.tolist(), strict=True)
    ]

    # Demo logins at several depths of the tree.
    all_ids = np.r_[house.pk, distributor_ids]
    parent_ids = np.r_[-1, all_ids[sponsor_index]]
    numbering = spread(all_ids, parent_ids)  # gapped labels, children by id
    depth_of_new = numbering.level[1:]
    recruits = np.bincount(sponsor_index, minlength=n + 1)[1:]
    chosen = {
        "leader": int(np.argmax(np.where(depth_of_new == 1, recruits, -1))),
        "middle": int(
            np.argmin(
                np.abs(depth_of_new - depth_of_new.max() // 2) * 10_000
                - np.minimum(recruits, 9_999)
            )
        ),
        "deep": int(np.argmax(depth_of_new)),
        "newcomer": n - 1,
    }
    for role, index in chosen.items():
        emails[index] = DEMO_LOGINS[role]
        status[index] = DistributorStatus.ACTIVE
    progress(f"tree numbered: depth {int(depth_of_new.max())}")

    now = timezone.now()
    password = make_password(DEMO_PASSWORD)
    joined_at = [timezone.make_aware(dt.datetime.combine(d, dt.time(12))) for d in joined]
    with transaction.atomic():
        write_rows(
            User,
            [
                "id",
                "password",
                "is_superuser",
                "email",
                "name",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            {
                "id": user_ids,
                "password": [password] * n,
                "is_superuser": [False] * n,
                "email": emails,
                "name": names,
                "is_staff": [False] * n,
                "is_active": [True] * n,
                "date_joined": joined_at,
            },
        )
        reset_sequence(User)
        progress("users written")
        write_rows(
            EmailAddress,
            ["user_id", "email", "verified", "primary"],
            {
                "user_id": user_ids,
                "email": emails,
                "verified": [True] * n,
                "primary": [True] * n,
            },
        )
        progress("email addresses written")
        order = np.searchsorted(numbering.ids, distributor_ids)
        write_rows(
            Distributor,
            [
                "id",
                "user_id",
                "number",
                "referral_code",
                "sponsor_id",
                "parent_id",
                "status",
                "joined_on",
                "country",
                "phone",
                "share_phone_with_team",
                "is_house",
                "created_at",
                "placed_at",
                "lft",
                "rght",
                "tree_id",
                "level",
                "descendants",
            ],
            {
                "id": distributor_ids,
                "user_id": user_ids,
                "number": numbers,
                "referral_code": referral_codes(n, rng),
                "sponsor_id": all_ids[sponsor_index],
                "parent_id": all_ids[sponsor_index],
                "status": status,
                "joined_on": joined,
                "country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
                "phone": [""] * n,
                "share_phone_with_team": [False] * n,
                "is_house": [False] * n,
                "created_at": joined_at,
                "placed_at": [now] * n,
                "lft": numbering.lft[order],
                "rght": numbering.rght[order],
                "tree_id": np.full(n, COMPANY_TREE_ID),
                "level": numbering.level[order],
                "descendants": numbering.descendants[order],
            },
        )
        reset_sequence(Distributor)
        # The history: everyone enrolled when they joined (one binary COPY).
        joined_us = {
            d: to_epoch_us(timezone.make_aware(dt.datetime.combine(d, dt.time(12))))
            for d in set(joined)
        }
        record_changes(
            {
                "at": now,
                "kind": TreeChangeKind.ENROLLMENT,
                "distributor_id": distributor_ids,
                "new_parent_id": all_ids[sponsor_index],
                "effective_at": np.fromiter((joined_us[d] for d in joined), np.int64, count=n),
                "reason": "Enrolled (demo company)",
            }
        )
        progress("history written")
        Distributor.objects.filter(pk=house.pk).update(
            lft=int(numbering.lft[0]),
            rght=int(numbering.rght[0]),
            level=0,
            descendants=int(numbering.descendants[0]),
        )
        progress("distributors written")
        for email, (name, secret) in STAFF_LOGINS.items():
            staff = User.objects.create_superuser(email, DEMO_PASSWORD, name=name)
            EmailAddress.objects.create(user=staff, email=email, verified=True, primary=True)
            TOTP.activate(staff, secret)
    vacuum_and_analyze(User, EmailAddress, Distributor, TreeChange)
    elapsed = time.monotonic() - started
    progress(f"done in {elapsed:.1f} s")
    logins = {
        role: {
            "email": DEMO_LOGINS[role],
            "depth": int(depth_of_new[index]),
            "recruits": int(recruits[index]),
        }
        for role, index in chosen.items()
    }
    return {"seconds": elapsed, "logins": logins, "max_depth": int(depth_of_new.max())}
