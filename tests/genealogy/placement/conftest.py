"""A placement policy for each test (the plan's `placement:` section, without a plan version)."""

from __future__ import annotations

import pytest

from genealogy import policy as genealogy_policy
from genealogy.policy import PlacementPolicy


@pytest.fixture
def placement_plan():
    """Call with the options of a plan's placement section; restored after the test."""
    previous = genealogy_policy._policy_provider

    def use(**options) -> PlacementPolicy:
        policy = PlacementPolicy.from_mapping(options)
        genealogy_policy.register_policy_provider(lambda at=None: policy)
        return policy

    yield use
    genealogy_policy.register_policy_provider(previous)


@pytest.fixture
def no_leg_volume():
    """No volume reader: the weaker-leg-by-volume rule counts people."""
    previous = genealogy_policy._leg_volume_reader
    genealogy_policy.register_leg_volume_reader(None)
    yield
    genealogy_policy.register_leg_volume_reader(previous)
