"""Load-test the dashboard and statement pages with wrk against gunicorn on 127.0.0.1.

Two measurements: *saturation* (every connection sends its next request as soon as the last
one is answered: the most the server can do, where latency is simply connections ÷
throughput) and *users* (each connection is a person who reads a page for a random 0 to
2 × ``--think-ms`` before the next, as people do; 50 such users at 250 ms offer about
160 pages a second). Prints figures, never asserts. Needs the `wrk` program (Debian:
`apt-get install wrk`) and a company with at least one closed month (e.g. `seed_demo
--distributors 1000000`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from commissions.models import CommissionPeriod, DistributorResult
from core.arguments import non_negative_int, positive_int, year
from genealogy.models import Distributor

LUA = """
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local counter = 0
local think = %(think)d
delay = function()
  if think == 0 then return 0 end
  return math.random(0, 2 * think)
end
request = function()
  counter = counter + 1
  local i = (counter %% #paths) + 1
  return wrk.format("GET", paths[i], {["Cookie"] = cookies[i], ["Host"] = "127.0.0.1"})
end
response = function(status, headers, body)
  if status ~= 200 then io.stderr:write("status " .. status .. "\\n") end
end
done = function(summary, latency, requests)
  local form = "RESULT requests=%%d errors=%%d rps=%%.1f p50=%%.1f p95=%%.1f p99=%%.1f\\n"
  io.write(string.format(form,
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = "Dashboard and statement pages under concurrent load (gunicorn + wrk on 127.0.0.1)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--users", type=positive_int, default=200, help="distinct logged-in people"
        )
        parser.add_argument("--connections", type=positive_int, default=50)
        parser.add_argument("--seconds", type=positive_int, default=30)
        parser.add_argument(
            "--think-ms",
            type=non_negative_int,
            default=250,
            help="mean pause of each user between pages in the second measurement",
        )
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=3,
            help="gunicorn workers (3 × 2 threads measured best)",
        )
        parser.add_argument(
            "--threads",
            type=positive_int,
            default=2,
            help="threads per worker (gthread: a connection waiting between pages holds no "
            "worker, as behind a buffering proxy)",
        )
        parser.add_argument(
            "--disclosure-year",
            type=year,
            default=None,
            help="also time the income disclosure of this year",
        )

    def handle(
        self,
        *args,
        users: int,
        connections: int,
        seconds: int,
        think_ms: int,
        workers: int,
        threads: int,
        disclosure_year: int | None,
        **options,
    ) -> None:
        if not shutil.which("wrk"):
            raise CommandError("wrk is not installed: apt-get install wrk")
        closed = (
            CommissionPeriod.objects.filter(status__in=["closed", "paid"])
            .exclude(current_run__isnull=True)
            .order_by("-month")
            .first()
        )
        if closed is None:
            raise CommandError("No closed month: run seed_demo (it closes past months) first.")
        earners = list(
            DistributorResult.objects.filter(run_id=closed.current_run_id, period_total__gt=0)
            .order_by("-period_total")
            .values_list("distributor_id", flat=True)[:users]
        )
        people = Distributor.objects.filter(id__in=earners).select_related("user")
        sessions = []
        for person in people:
            store = SessionStore()
            store[SESSION_KEY] = str(person.user.pk)
            store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            store[HASH_SESSION_KEY] = person.user.get_session_auth_hash()
            store.create()
            sessions.append(store.session_key)
        month = f"{closed.month:%Y-%m}"
        paths, cookies = [], []
        for key in sessions:
            for path in ("/dashboard/", f"/earnings/{month}/"):
                paths.append(path)
                cookies.append(f"{settings.SESSION_COOKIE_NAME}={key}")
        people_count = Distributor.objects.count()
        self.stdout.write(
            f"{people_count:,} distributors; {len(sessions)} logged-in earners of {month}; "
            f"{connections} connections for {seconds} s; "
            f"gunicorn with {workers} workers × {threads} threads"
        )
        port = free_port()
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SESSION_COOKIE_SECURE": "false",
            "DJANGO_CSRF_COOKIE_SECURE": "false",
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}"
            ),
            "DATABASE_CONN_MAX_AGE": "600",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        with tempfile.TemporaryDirectory() as folder:
            static_root = Path(folder) / "static"
            env["DJANGO_STATIC_ROOT"] = str(static_root)
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                env=env,
                check=True,
                cwd=settings.BASE_DIR,
            )
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(threads),
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=settings.BASE_DIR,
            )
            try:
                self._wait_for(port)
                scripts = {}
                for name, think in (("saturation", 0), ("users", think_ms)):
                    scripts[name] = Path(folder) / f"{name}.lua"
                    scripts[name].write_text(
                        LUA
                        % {
                            "paths": ", ".join(f'"{p}"' for p in paths),
                            "cookies": ", ".join(f'"{c}"' for c in cookies),
                            "think": think,
                        }
                    )
                # Steady state: every page once (per-person caches, connections), then measure.
                self._warm(port, paths, cookies)
                self._wrk(scripts["saturation"], port, connections, 5)
                saturated = self._wrk(scripts["saturation"], port, connections, seconds)
                paced = self._wrk(scripts["users"], port, connections, seconds)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
        self.stdout.write(f"saturation, {connections} connections, no pause: {saturated}")
        self.stdout.write(
            f"{connections} users, each pausing 0-{2 * think_ms} ms between pages: {paced}"
        )
        SessionStore().clear_expired()
        if disclosure_year:
            started = time.perf_counter()
            call_command("generate_income_disclosure", str(disclosure_year), stdout=self.stdout)
            self.stdout.write(
                f"income disclosure {disclosure_year}: {time.perf_counter() - started:.1f} s"
            )

    def _warm(self, port: int, paths: list[str], cookies: list[str]) -> None:
        started = time.perf_counter()
        for path, cookie in zip(paths, cookies, strict=True):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie}
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                response.read()
        self.stdout.write(
            f"warm-up: {len(paths)} pages once each in {time.perf_counter() - started:.1f} s"
        )

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.3)
        raise CommandError("gunicorn did not start")

    def _wrk(self, script: Path, port: int, connections: int, seconds: int) -> str:
        completed = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT")]
        statuses = Counter(
            line.split()[1] for line in completed.stderr.splitlines() if line.startswith("status ")
        )
        summary = lines[-1].removeprefix("RESULT ") if lines else completed.stdout[-500:]
        return summary + (f" non-200 statuses {dict(statuses)}" if statuses else "")
