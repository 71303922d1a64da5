from tests.commissions.conftest import chain, plan_version  # noqa: F401
