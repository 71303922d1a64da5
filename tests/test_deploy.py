import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_environment() -> dict:
    """This process's environment less what only tests set (the browser tests' async flag)."""
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def test_check_deploy_reports_nothing_with_production_settings():
    env = {
        **production_environment(),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x7Gq2!vR9#pLm4$wT8zK1@nB6^cY3&hJ5*dF0(sA)eU-iO+qW=",
        "DJANGO_ALLOWED_HOSTS": "ladder.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_development_secret_key():
    env = {
        **production_environment(),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "ladder.example.com",
    }
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr
