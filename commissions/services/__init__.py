"""What writes commissions, one module per subject (Zulip's ``zerver/actions/``): ``plans``,
``periods``, ``runs``, ``close`` (and payouts), ``clawbacks``, ``adjustments`` (and holds).
Import from the module that owns what you need; nothing is re-exported here."""
