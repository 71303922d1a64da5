"""Every setting is read once, with its default, in config/settings.py; the code reads
`settings.X` and never repeats a default (`getattr(settings, "X", default)`), so a default
cannot drift from the one settings.py and the README document."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "node_modules", "tests", "static", "staticfiles", "var", ".git"}


def app_modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not SKIP.intersection(path.relative_to(ROOT).parts)
        and path != ROOT / "config" / "settings.py"
    )


def is_settings(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "settings"


def test_no_code_reads_a_setting_with_its_own_default():
    found = []
    for path in app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "hasattr"}
                and node.args
                and is_settings(node.args[0])
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], "read settings.X (its default lives in config/settings.py): " + ", ".join(
        found
    )


def test_every_ladder_setting_the_code_reads_is_defined_in_settings():
    missing = []
    for path in app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and is_settings(node.value)
                and node.attr.startswith("LADDER_")
                and not hasattr(settings, node.attr)
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
    assert missing == []


def test_the_scan_sees_the_apps():
    names = {str(path.relative_to(ROOT)) for path in app_modules()}
    assert {"messaging/services.py", "orders/services.py", "training/models.py"} <= names
