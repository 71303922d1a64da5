"""Everything that writes the genealogy: enrolling, placing, renumbering, moving, terminating.

Only this module (and selectors.py) touches django-mptt's fields. Sign-up writes the sponsor
link only; `place_pending_distributors` puts waiting people into the nested-set tree in one
batch, under a PostgreSQL advisory lock so that one placer runs at a time. The labels are
gapped (`genealogy.labels`): placing and moving write the rows concerned, their uplines'
stored counts (`descendants`) and now and then a small relabelled window, never the rest of
the tree. Children are in placement order (a newcomer or a moved leg goes last).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import downline_counts, labels
from .codes import new_distributor_number, new_referral_code
from .history import (
    HistoryError,
    record_change,
    record_changes,
    validate_effective_moment,
)
from .integrity import read_tree
from .labels import PLACEMENT_TREE, SPONSOR_TREE
from .models import (
    COMPANY_TREE_ID,
    PENDING_TREE_ID,
    Distributor,
    DistributorStatus,
    TreeChangeKind,
)
from .numbering import Numbering, TreeShapeError, number_tree
from .placement.services import acquire_placement_lock, enter_tank

if TYPE_CHECKING:
    from accounts.models import User

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
            created_at=timezone.now(),  # read at call time: the history's enrollment moment
            lft=1,
            rght=2,
            level=0,
            tree_id=PENDING_TREE_ID,
        )
        try:
            with transaction.atomic(), Distributor.objects.disable_mptt_updates():
                distributor.save(force_insert=True)
                record_change(
                    kind=TreeChangeKind.ENROLLMENT,
                    distributor_id=distributor.pk,
                    new_parent_id=sponsor.pk,
                    effective_at=distributor.created_at,
                    reason="Enrolled",
                )
                enter_tank(distributor)  # the placement tree's wait (binary and matrix plans)
        except IntegrityError as error:
            if "number" in str(error) or "referral_code" in str(error):
                continue
            raise
        schedule_placement()
        return distributor
    raise RuntimeError("could not draw a unique distributor number and referral code")


# Sign-ups are grouped into one-second windows, each placed half a second after it ends: with
# a batch taking well under a second at 1M, a recruit is in the placed tree within about 2 s.
PLACEMENT_WINDOW_SECONDS = 1
PLACEMENT_DELAY_SECONDS = 0.5


def schedule_placement(*, now: dt.datetime | None = None) -> None:
    """Ask the worker to place waiting people soon, in the sign-up's own transaction (the
    outbox): one task per one-second window, run half a second after the window ends, so it
    places everyone who signed up in it. Beat places anyone it misses within a minute."""
    from outbox.services import enqueue

    from .tasks import place_pending_distributors_task

    window = int((now or timezone.now()).timestamp() // PLACEMENT_WINDOW_SECONDS)
    enqueue(
        place_pending_distributors_task,
        idempotency_key=f"genealogy.place_pending_distributors:{window}",
        eta=dt.datetime.fromtimestamp(
            (window + 1) * PLACEMENT_WINDOW_SECONDS + PLACEMENT_DELAY_SECONDS, tz=dt.UTC
        ),
    )


# --- Downline counts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldResults:
    sponsor: downline_counts.FoldResult | None  # None: that tree's writer held the lock
    placement: downline_counts.FoldResult | None

    @property
    def locked(self) -> bool:
        return self.sponsor is None or self.placement is None


def fold_downline_counts() -> FoldResults:
    """Fold both trees' waiting count rows into the stored counts, each tree under its
    writers' lock (skipped, not waited for, while a batch holds it). Safe to run twice: the
    second finds nothing."""
    results = []
    for space, lock in (
        (SPONSOR_TREE, acquire_tree_lock),
        (PLACEMENT_TREE, acquire_placement_lock),
    ):
        with transaction.atomic():
            results.append(downline_counts.fold(space) if lock(wait=False) else None)
    return FoldResults(*results)


# --- Placement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementResult:
    placed: int
    method: str  # "none", "labels", "renumber" or "locked" (another placer holds the lock)
    rows_written: int = 0  # distributor rows written (the placed, their uplines, windows)


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
        if len(pending) > FULL_RENUMBER_THRESHOLD:
            result = renumber_tree()
            return PlacementResult(len(pending), "renumber", result.changed)
        with labels.prefer_indexes():
            written = _place_with_labels(pending)
        if written is None:
            result = renumber_tree()
            return PlacementResult(len(pending), "renumber", result.changed)
        return PlacementResult(len(pending), "labels", written)


def _place_with_labels(pending: list[tuple[int, int]]) -> int | None:
    """Put the waiting people in as the last children of their sponsors: one `allocate` for
    all the insertion points, one write of the new rows, one update of the uplines' counts.

    The cost depends on the batch, not on the tree: no existing row moves except the few in a
    relabelled window (`genealogy.labels`). A waiting person's own waiting recruits nest inside
    them; siblings that arrive together go in id order, after the placed ones. Returns the rows
    written, or None when a sponsor is outside the placed tree (the caller renumbers).
    """
    pending_ids = {pid for pid, _ in pending}
    children: dict[int, list[int]] = defaultdict(list)
    for pid, sponsor_id in pending:  # ordered by id
        children[sponsor_id].append(pid)
    attach_ids = [sid for sid in children if sid not in pending_ids]
    anchors = {
        row[0]: row[1:]
        for row in Distributor.objects.filter(
            id__in=attach_ids, tree_id=COMPANY_TREE_ID, placed_at__isnull=False
        ).values_list("id", "rght", "level")
    }
    if set(attach_ids) - set(anchors):
        # A sponsor outside the placed tree (or a loop among waiting people): only a full
        # renumber from the sponsor links can sort that out.
        logger.warning(
            "placement falls back to a full renumber",
            extra={"sponsors": sorted(set(attach_ids) - set(anchors))},
        )
        return None

    sizes: dict[int, int] = {}

    def subtree_size(root: int) -> int:
        total, stack = 0, [root]
        while stack:
            node = stack.pop()
            total += 1
            stack.extend(children.get(node, ()))
        return total

    for sid in attach_ids:
        sizes[sid] = sum(subtree_size(c) for c in children[sid])
    if sum(sizes.values()) != len(pending):
        return None  # waiting people whose sponsor links loop among themselves
    points = labels.last_child_points(SPONSOR_TREE, [anchors[sid][0] for sid in attach_ids])
    allocated = labels.allocate(
        SPONSOR_TREE,
        [(point, 2 * sizes[sid]) for point, sid in zip(points, attach_ids, strict=True)],
    )
    ids, lfts, rghts, levels, parents, below = [], [], [], [], [], []
    for sid, fresh in zip(attach_ids, allocated, strict=True):
        free = iter(fresh)
        # Iterative depth-first layout of the new people under this sponsor.
        stack = [(child, sid, anchors[sid][1] + 1, False) for child in reversed(children[sid])]
        open_left: dict[int, tuple[int, int]] = {}
        while stack:
            node, parent, level, closing = stack.pop()
            if closing:
                left, placed_before = open_left.pop(node)
                ids.append(node)
                lfts.append(left)
                rghts.append(next(free))
                levels.append(level)
                parents.append(parent)
                below.append(len(ids) - 1 - placed_before)
                continue
            open_left[node] = (next(free), len(ids))
            stack.append((node, parent, level, True))
            stack.extend((c, node, level + 1, False) for c in reversed(children.get(node, ())))
    _write_placed(ids, parents, lfts, rghts, levels, below)
    # The sponsors' and their uplines' counts: waiting rows, folded after the batch.
    waiting = downline_counts.record(SPONSOR_TREE, sizes)
    return len(ids) + labels.last_allocation.relabelled + waiting


def _write_placed(ids, parents, lfts, rghts, levels, below) -> None:
    table = Distributor._meta.db_table
    now = timezone.now()
    if not is_postgresql():
        Distributor.objects.bulk_update(
            [
                Distributor(
                    id=i,
                    parent_id=p,
                    lft=lf,
                    rght=rg,
                    level=lv,
                    descendants=b,
                    tree_id=COMPANY_TREE_ID,
                    placed_at=now,
                )
                for i, p, lf, rg, lv, b in zip(
                    ids, parents, lfts, rghts, levels, below, strict=True
                )
            ],
            ["parent_id", "lft", "rght", "level", "descendants", "tree_id", "placed_at"],
            batch_size=500,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS d
               SET parent_id = u.parent_id, lft = u.lft, rght = u.rght, level = u.level,
                   descendants = u.below, tree_id = %(tree)s, placed_at = %(now)s
              FROM unnest(%(ids)s::bigint[], %(parents)s::bigint[], %(lfts)s::bigint[],
                          %(rghts)s::bigint[], %(levels)s::bigint[], %(below)s::bigint[])
                   AS u(id, parent_id, lft, rght, level, below)
             WHERE d.id = u.id
            """,  # noqa: S608 - table name from model meta, values are parameters
            {
                "ids": ids,
                "parents": parents,
                "lfts": lfts,
                "rghts": rghts,
                "levels": levels,
                "below": below,
                "tree": COMPANY_TREE_ID,
                "now": now,
            },
        )


# --- Full renumber ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenumberResult:
    nodes: int
    changed: int


def renumber_tree(*, numbering: Numbering | None = None) -> RenumberResult:
    """Recompute every tree field from the sponsor links and write the rows that differ: the
    full repair (check_genealogy --fix, a placement whose sponsor is outside the tree, an
    import), with labels spread evenly again (`genealogy.labels.spread`).

    Children keep their order (by their labels; people not yet placed come last, in id order).
    Set-based: one read of (id, sponsor), numpy, one bulk write. Callers hold the tree lock
    (`place_pending_distributors`, moves) or take it here. An import passes the `numbering`
    it computed (and wrote for its own rows) under the same lock.
    """
    with transaction.atomic():
        acquire_tree_lock(wait=True)
        downline_counts.fold(SPONSOR_TREE)  # the stored counts complete before comparing
        if numbering is None:
            tree = read_tree()  # one COPY into numpy, no per-row Python objects
            ids = tree["id"]
            if len(ids) == 0:
                return RenumberResult(0, 0)
            placed = (tree["pending"] == 0) & (tree["tree"] == COMPANY_TREE_ID)
            order_key = np.where(placed, tree["lft"], labels.UNIVERSE + ids)
            if _already_right(tree, placed, order_key):
                return RenumberResult(len(ids), 0)
            numbering = labels.spread(ids, tree["sponsor"], order_key=order_key)
        changed = _write_numbering(numbering)
        return RenumberResult(len(numbering.ids), changed)


def _already_right(tree: dict[str, np.ndarray], placed: np.ndarray, order_key) -> bool:
    """Everyone is placed and the stored labels nest exactly as the sponsor links say (ranked,
    siblings in their order), with the right levels and counts: a renumber would only move
    labels around, so it writes nothing."""
    if not placed.all():
        return False
    try:
        dense = number_tree(tree["id"], tree["sponsor"], order_key=order_key)
    except TreeShapeError:
        return False
    values = np.sort(np.concatenate([tree["lft"], tree["rght"]]))
    position = np.searchsorted(dense.ids, tree["id"])
    return bool(
        np.array_equal(np.searchsorted(values, tree["lft"]) + 1, dense.lft[position])
        and np.array_equal(np.searchsorted(values, tree["rght"]) + 1, dense.rght[position])
        and np.array_equal(tree["level"], dense.level[position])
        and np.array_equal(tree["descendants"], dense.descendants[position])
        and np.array_equal(tree["parent"], tree["sponsor"])
    )


def _write_numbering(numbering: Numbering) -> int:
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
            numbering.descendants.tolist(),
            strict=True,
        ):
            buffer.write("\t".join(map(str, columns)))
            buffer.write("\n")
        with connection.cursor() as cursor:
            # Dropped right after use: a transaction may renumber more than once.
            cursor.execute("DROP TABLE IF EXISTS tree_numbering")
            cursor.execute(
                "CREATE TEMP TABLE tree_numbering (id bigint, parent_id bigint, lft bigint,"
                " rght bigint, level bigint, descendants bigint) ON COMMIT DROP"
            )
            with cursor.copy("COPY tree_numbering FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute(
                f"""
                UPDATE {table} AS d
                   SET parent_id = t.parent_id, lft = t.lft, rght = t.rght, level = t.level,
                       descendants = t.descendants, tree_id = %s,
                       placed_at = COALESCE(d.placed_at, %s)
                  FROM tree_numbering t
                 WHERE d.id = t.id
                   AND (d.lft, d.rght, d.level, d.descendants, d.tree_id, d.parent_id,
                        d.placed_at IS NULL)
                       IS DISTINCT FROM
                       (t.lft, t.rght, t.level, t.descendants, %s, t.parent_id, false)
                """,  # noqa: S608
                [COMPANY_TREE_ID, now, COMPANY_TREE_ID],
            )
            changed = cursor.rowcount
            cursor.execute("DROP TABLE tree_numbering")
            return changed
    existing = {
        row[0]: row[1:]
        for row in Distributor.objects.values_list(
            "id", "parent_id", "lft", "rght", "level", "descendants", "tree_id", "placed_at"
        )
    }
    changed = []
    for node_id, parent_id, lft, rght, level, below in zip(
        numbering.ids.tolist(),
        numbering.parent_ids.tolist(),
        numbering.lft.tolist(),
        numbering.rght.tolist(),
        numbering.level.tolist(),
        numbering.descendants.tolist(),
        strict=True,
    ):
        parent_id = None if parent_id < 0 else parent_id
        old = existing[node_id]
        if old[:6] != (parent_id, lft, rght, level, below, COMPANY_TREE_ID) or old[6] is None:
            changed.append(
                Distributor(
                    id=node_id,
                    parent_id=parent_id,
                    lft=lft,
                    rght=rght,
                    level=level,
                    descendants=below,
                    tree_id=COMPANY_TREE_ID,
                    placed_at=old[6] or now,
                )
            )
    Distributor.objects.bulk_update(
        changed,
        ["parent_id", "lft", "rght", "level", "descendants", "tree_id", "placed_at"],
        batch_size=500,
    )
    return len(changed)


# --- Moves and terminations -------------------------------------------------------------------


class TreeMoveError(ValueError):
    """A move or termination that the genealogy refuses, with the reason a person should read."""


def _clean_reason(reason: str) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise TreeMoveError("Give a reason: every change to the genealogy is recorded with one.")
    return cleaned


def _user_id(by: User | None) -> int | None:
    return None if by is None else by.pk


def move_distributor(
    *,
    distributor: Distributor,
    new_sponsor: Distributor,
    reason: str,
    by: User | None,
    effective_at: dt.datetime | None = None,
) -> Distributor:
    """Move `distributor` and their whole downline under `new_sponsor`; record who and why.

    The move takes effect now, or from `effective_at`, backdated into an open period
    (`genealogy.history.validate_effective_moment` refuses a closed month, the future and a
    moment before the person's latest recorded change): months from then on are calculated
    with the new sponsor, earlier ones keep the old.

    The leg becomes the new sponsor's last child: it gets fresh gapped labels and nothing else
    in the tree is renumbered (`genealogy.labels.move_subtree`), under the tree lock.
    """
    reason = _clean_reason(reason)
    with transaction.atomic():
        acquire_tree_lock(wait=True)
        node, target = _fresh_for_move(distributor.pk, new_sponsor.pk)
        now = timezone.now()
        if effective_at is not None:
            try:
                validate_effective_moment([node.pk], effective_at, parent_ids=[target.pk], now=now)
            except HistoryError as error:
                raise TreeMoveError(str(error)) from error
        old_parent_id = node.sponsor_id
        _move_placed_subtree(node, target)
        record_change(
            by_id=_user_id(by),
            kind=TreeChangeKind.MOVE,
            distributor_id=node.pk,
            old_parent_id=old_parent_id,
            new_parent_id=target.pk,
            reason=reason,
            at=now,
            effective_at=effective_at or now,
        )
    return Distributor.objects.select_related("user", "sponsor").get(pk=node.pk)


def move_check(*, distributor: Distributor, new_sponsor: Distributor) -> None:
    """Raise TreeMoveError if moving ``distributor`` under ``new_sponsor`` would be refused
    (the same checks ``move_distributor`` makes under the tree lock), so a form can say so
    before asking for confirmation."""
    _fresh_for_move(distributor.pk, new_sponsor.pk)


def _fresh_for_move(distributor_id: int, sponsor_id: int) -> tuple[Distributor, Distributor]:
    """Re-read both rows under the tree lock and refuse what cannot move."""
    rows = {d.pk: d for d in Distributor.objects.filter(pk__in=[distributor_id, sponsor_id])}
    node, target = rows[distributor_id], rows.get(sponsor_id)
    if node.pk == sponsor_id:
        raise TreeMoveError("A distributor cannot be their own sponsor.")
    if node.is_house:
        raise TreeMoveError("The house is the root of the tree and cannot move.")
    if node.sponsor_id == sponsor_id:
        raise TreeMoveError(f"#{node.number} is already sponsored by #{target.number}.")
    if not node.is_placed:
        raise TreeMoveError(
            f"#{node.number} is still waiting for placement: place waiting people first, then move."
        )
    if target.status == DistributorStatus.TERMINATED:
        raise TreeMoveError(f"The new sponsor #{target.number} is terminated.")
    if not target.is_placed:
        raise TreeMoveError(
            f"The new sponsor #{target.number} is still waiting for placement: "
            "place waiting people first, then move."
        )
    if node.lft <= target.lft and target.rght <= node.rght:
        raise TreeMoveError(
            f"The new sponsor #{target.number} is in the downline of #{node.number}: "
            "the move would make a loop."
        )
    return node, target


def _move_placed_subtree(node: Distributor, target: Distributor) -> int:
    """Make `node`'s leg the last child of `target`: fresh labels for the leg only
    (`genealogy.labels.move_subtree`), its levels shifted, the uplines' counts fixed. The cost
    is the leg's size, whatever the tree's. Returns the people moved."""
    with labels.prefer_indexes():
        moved = labels.move_subtree(SPONSOR_TREE, node_id=node.pk, new_parent_id=target.pk)
    Distributor.objects.filter(pk=node.pk).update(sponsor_id=target.pk)
    return moved


def terminate_distributor(
    *, distributor: Distributor, roll_up_recruits: bool, reason: str, by: User | None
) -> Distributor:
    """Terminate `distributor`; with `roll_up_recruits`, their direct recruits (and legs) move to
    the terminated person's sponsor. Nothing is deleted: the person keeps their history.
    """
    reason = _clean_reason(reason)
    with transaction.atomic():
        acquire_tree_lock(wait=True)
        person = Distributor.objects.select_for_update().get(pk=distributor.pk)
        if person.is_house:
            raise TreeMoveError("The house cannot be terminated.")
        if person.status == DistributorStatus.TERMINATED:
            raise TreeMoveError(f"{person.number} is already terminated.")
        Distributor.objects.filter(pk=person.pk).update(status=DistributorStatus.TERMINATED)
        now = timezone.now()
        record_change(
            by_id=_user_id(by),
            kind=TreeChangeKind.TERMINATION,
            distributor_id=person.pk,
            old_parent_id=person.sponsor_id,
            new_parent_id=person.sponsor_id,
            reason=reason,
            at=now,
        )
        if roll_up_recruits:
            rolled_up, new_sponsor_id = _roll_up_recruits(person)
            record_changes(
                {
                    "by_id": _user_id(by),
                    "kind": TreeChangeKind.TERMINATE_ROLLUP,
                    "distributor_id": rolled_up,
                    "old_parent_id": person.pk,
                    "new_parent_id": new_sponsor_id,
                    "reason": reason,
                    "at": now,
                }
            )
    return Distributor.objects.select_related("user", "sponsor").get(pk=person.pk)


def roll_up_sponsor_id(person: Distributor) -> int:
    """`person`'s sponsor, or the first sponsor above them who is not terminated."""
    sponsor_id = person.sponsor_id
    while True:
        sponsor = Distributor.objects.values("sponsor_id", "status").get(pk=sponsor_id)
        if sponsor["status"] != DistributorStatus.TERMINATED or sponsor["sponsor_id"] is None:
            return sponsor_id
        sponsor_id = sponsor["sponsor_id"]


def _roll_up_recruits(person: Distributor) -> tuple[list[int], int]:
    """Give `person`'s direct recruits to `person`'s sponsor (caller holds the tree lock);
    returns the recruits' ids and their new sponsor's, for the history.

    A terminated sponsor cannot take anyone (as for moves): the recruits then go to the first
    sponsor above who is not terminated.
    """
    new_sponsor_id = roll_up_sponsor_id(person)
    recruits = list(
        Distributor.objects.filter(sponsor_id=person.pk)
        .order_by("id")
        .values_list("id", "placed_at")
    )
    placed = [rid for rid, placed_at in recruits if placed_at is not None]
    waiting = [rid for rid, placed_at in recruits if placed_at is None]
    # Waiting recruits only change their link: placement puts them under the new sponsor.
    Distributor.objects.filter(pk__in=waiting).update(sponsor_id=new_sponsor_id)
    if placed:
        # The recruits' legs are the person's whole downline: one block move, in their order.
        with labels.prefer_indexes():
            labels.move_subtree(
                SPONSOR_TREE, node_id=person.pk, new_parent_id=new_sponsor_id, children_only=True
            )
        Distributor.objects.filter(pk__in=placed).update(sponsor_id=new_sponsor_id)
    return [rid for rid, _ in recruits], new_sponsor_id
