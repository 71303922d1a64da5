"""The placement tree of binary and matrix plans: rules, the holding tank, moves, integrity.

Separate from the sponsor tree: the sponsor still enrolls a person, who is placed under someone
in the sponsor's placement downline (`genealogy.models.Placement`). What the plan asks for is
read through `genealogy.policy.placement_policy`; with kind "none" nothing here runs.

- `rules.py`: where each rule puts a recruit, on the stored tree plus a batch's planned nodes
  (indexed lookups, never a walk down the tree).
- `services.py`: the holding tank, batches, hand placement, previews, staff moves.
- `integrity.py`: the checks `check_genealogy` prints.
"""
