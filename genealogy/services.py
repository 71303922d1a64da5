"""Everything that writes the genealogy: enrolling, placing, renumbering, moving, terminating.

Only this module (and selectors.py) touches django-mptt's fields. Sign-up writes the sponsor
link only; `place_pending_distributors` puts waiting people into the nested-set tree in one
batch, under a PostgreSQL advisory lock so that one placer runs at a time.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .codes import new_distributor_number, new_referral_code
from .models import COMPANY_TREE_ID, PENDING_TREE_ID, Distributor
from .numbering import number_tree

logger = logging.getLogger(__name__)

TREE_LOCK_KEY = 0x1ADDE7  # advisory lock id shared by every writer of the nested-set fields
# Above this many waiting people a full renumber is cheaper than shifting ranges.
FULL_RENUMBER_THRESHOLD = 50_000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def acquire_tree_lock(*, wait: bool) -> bool:
    """Take the transaction-scoped tree lock (PostgreSQL); always granted elsewhere."""
    if not is_postgresql():
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TREE_LOCK_KEY])
        return bool(cursor.fetchone()[0])


# --- Enrollment -------------------------------------------------------------------------------


def create_distributor(
    *, user, sponsor: Distributor, country: str = "", phone: str = "", joined_on=None
) -> Distributor:
    """Create the distributor for `user` under `sponsor`, waiting for placement.

    Constant time whatever the tree size: no nested-set field is renumbered here.
    Unique number and referral code are drawn at random and retried on a collision.
    """
    for _attempt in range(20):
        distributor = Distributor(
            user=user,
            sponsor=sponsor,
            number=new_distributor_number(),
            referral_code=new_referral_code(),
            country=country,
            phone=phone,
            joined_on=joined_on or timezone.localdate(),
            lft=1,
            rght=2,
            level=0,
            tree_id=PENDING_TREE_ID,
        )
        try:
            with transaction.atomic(), Distributor.objects.disable_mptt_updates():
                distributor.save(force_insert=True)
        except IntegrityError as error:
            if "number" in str(error) or "referral_code" in str(error):
                continue
            raise
        transaction.on_commit(schedule_placement)
        return distributor
    raise RuntimeError("could not draw a unique distributor number and referral code")


def schedule_placement() -> None:
    """Ask the worker to place waiting people soon; debounced with a short cache key."""
    from django.core.cache import cache

    from .tasks import place_pending_distributors_task

    if cache.add("genealogy:placement-scheduled", 1, timeout=10):
        place_pending_distributors_task.apply_async(countdown=5)


# --- Placement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementResult:
    placed: int
    method: str  # "none", "shift", "renumber" or "locked" (another placer holds the lock)


def place_pending_distributors() -> PlacementResult:
    """Place every distributor waiting for placement under their sponsor, in one batch."""
    with transaction.atomic():
        if not acquire_tree_lock(wait=False):
            return PlacementResult(0, "locked")
        pending = list(
            Distributor.objects.filter(placed_at__isnull=True)
            .order_by("id")
            .values_list("id", "sponsor_id")
        )
        if not pending:
            return PlacementResult(0, "none")
        if not is_postgresql() or len(pending) > FULL_RENUMBER_THRESHOLD:
            renumber_tree()
            return PlacementResult(len(pending), "renumber")
        _place_by_shifting(pending)
        return PlacementResult(len(pending), "shift")


def _place_by_shifting(pending: list[tuple[int, int]]) -> None:
    """Open one gap per sponsor that receives people and write the new people into the gaps.

    Every existing value v moves by the total width of the gaps opened at positions <= v
    (PostgreSQL's width_bucket counts them), in a single UPDATE.
    """
    pending_ids = {pid for pid, _ in pending}
    children: dict[int, list[int]] = defaultdict(list)
    for pid, sponsor_id in pending:  # ordered by id: new children come last, in id order
        children[sponsor_id].append(pid)
    attach_ids = [sid for sid in children if sid not in pending_ids]
    anchors = {
        row[0]: row[1:]
        for row in Distributor.objects.filter(
            id__in=attach_ids, tree_id=COMPANY_TREE_ID
        ).values_list("id", "rght", "level")
    }
    missing = set(attach_ids) - set(anchors)
    if missing:
        # A sponsor outside the placed tree: only a full renumber can sort that out.
        logger.warning(
            "placement falls back to a full renumber", extra={"sponsors": sorted(missing)}
        )
        renumber_tree()
        return

    def subtree_size(root: int) -> int:
        total, stack = 0, [root]
        while stack:
            node = stack.pop()
            total += 1
            stack.extend(children.get(node, ()))
        return total

    order = sorted(anchors, key=lambda sid: anchors[sid][0])
    points, cumulative = [], [0]
    for sid in order:
        width = 2 * sum(subtree_size(child) for child in children[sid])
        points.append(anchors[sid][0])
        cumulative.append(cumulative[-1] + width)

    ids, lfts, rghts, levels, parents = [], [], [], [], []
    for index, sid in enumerate(order):
        old_rght, anchor_level = anchors[sid]
        cursor_pos = old_rght + cumulative[index]
        # Iterative depth-first layout of the new people under this sponsor.
        stack = [(child, sid, anchor_level + 1, False) for child in reversed(children[sid])]
        open_left: dict[int, int] = {}
        while stack:
            node, parent, level, closing = stack.pop()
            if closing:
                ids.append(node)
                lfts.append(open_left.pop(node))
                rghts.append(cursor_pos)
                levels.append(level)
                parents.append(parent)
                cursor_pos += 1
                continue
            open_left[node] = cursor_pos
            cursor_pos += 1
            stack.append((node, parent, level, True))
            stack.extend((c, node, level + 1, False) for c in reversed(children.get(node, ())))

    with connection.cursor() as cursor:
        table = Distributor._meta.db_table
        cursor.execute(
            f"""
            UPDATE {table}
               SET lft = lft + (%(cum)s::bigint[])[width_bucket(lft, %(pts)s::bigint[]) + 1],
                   rght = rght + (%(cum)s::bigint[])[width_bucket(rght, %(pts)s::bigint[]) + 1]
             WHERE tree_id = %(tree)s AND rght >= %(first)s
            """,  # noqa: S608 - table name from model meta, values are parameters
            {"cum": cumulative, "pts": points, "tree": COMPANY_TREE_ID, "first": points[0]},
        )
        cursor.execute(
            f"""
            UPDATE {table} AS d
               SET parent_id = u.parent_id, lft = u.lft, rght = u.rght, level = u.level,
                   tree_id = %(tree)s, placed_at = %(now)s
              FROM unnest(%(ids)s::bigint[], %(parents)s::bigint[], %(lfts)s::bigint[],
                          %(rghts)s::bigint[], %(levels)s::bigint[])
                   AS u(id, parent_id, lft, rght, level)
             WHERE d.id = u.id
            """,  # noqa: S608
            {
                "ids": ids,
                "parents": parents,
                "lfts": lfts,
                "rghts": rghts,
                "levels": levels,
                "tree": COMPANY_TREE_ID,
                "now": timezone.now(),
            },
        )


# --- Full renumber ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenumberResult:
    nodes: int
    changed: int


def renumber_tree() -> RenumberResult:
    """Recompute every nested-set field from the sponsor links and write the rows that differ.

    Set-based: one read of (id, sponsor), numpy, one bulk write. Callers hold the tree lock
    (`place_pending_distributors`, moves) or take it here.
    """
    with transaction.atomic():
        acquire_tree_lock(wait=True)
        rows = np.array(
            Distributor.objects.order_by("id").values_list("id", "sponsor_id"), dtype=object
        )
        if len(rows) == 0:
            return RenumberResult(0, 0)
        ids = rows[:, 0].astype(np.int64)
        sponsors = np.array([-1 if s is None else s for s in rows[:, 1]], dtype=np.int64)
        numbering = number_tree(ids, sponsors)
        changed = _write_numbering(numbering)
        return RenumberResult(len(ids), changed)


def _write_numbering(numbering) -> int:
    now = timezone.now()
    table = Distributor._meta.db_table
    if is_postgresql():
        buffer = io.StringIO()
        parent_text = np.where(numbering.parent_ids < 0, "\\N", numbering.parent_ids.astype(str))
        for columns in zip(
            numbering.ids.tolist(),
            parent_text.tolist(),
            numbering.lft.tolist(),
            numbering.rght.tolist(),
            numbering.level.tolist(),
            strict=True,
        ):
            buffer.write("\t".join(map(str, columns)))
            buffer.write("\n")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE tree_numbering (id bigint, parent_id bigint, lft bigint,"
                " rght bigint, level bigint) ON COMMIT DROP"
            )
            with cursor.copy("COPY tree_numbering FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute(
                f"""
                UPDATE {table} AS d
                   SET parent_id = t.parent_id, lft = t.lft, rght = t.rght, level = t.level,
                       tree_id = %s, placed_at = COALESCE(d.placed_at, %s)
                  FROM tree_numbering t
                 WHERE d.id = t.id
                   AND (d.lft, d.rght, d.level, d.tree_id, d.parent_id, d.placed_at IS NULL)
                       IS DISTINCT FROM (t.lft, t.rght, t.level, %s, t.parent_id, false)
                """,  # noqa: S608
                [COMPANY_TREE_ID, now, COMPANY_TREE_ID],
            )
            return cursor.rowcount
    existing = {
        row[0]: row[1:]
        for row in Distributor.objects.values_list(
            "id", "parent_id", "lft", "rght", "level", "tree_id", "placed_at"
        )
    }
    changed = []
    for node_id, parent_id, lft, rght, level in zip(
        numbering.ids.tolist(),
        numbering.parent_ids.tolist(),
        numbering.lft.tolist(),
        numbering.rght.tolist(),
        numbering.level.tolist(),
        strict=True,
    ):
        parent_id = None if parent_id < 0 else parent_id
        old = existing[node_id]
        if old[:5] != (parent_id, lft, rght, level, COMPANY_TREE_ID) or old[5] is None:
            changed.append(
                Distributor(
                    id=node_id,
                    parent_id=parent_id,
                    lft=lft,
                    rght=rght,
                    level=level,
                    tree_id=COMPANY_TREE_ID,
                    placed_at=old[5] or now,
                )
            )
    Distributor.objects.bulk_update(
        changed, ["parent_id", "lft", "rght", "level", "tree_id", "placed_at"], batch_size=500
    )
    return len(changed)


def pending_placement_max_age_minutes() -> int:
    return settings.LADDER_PLACEMENT_MAX_PENDING_MINUTES
