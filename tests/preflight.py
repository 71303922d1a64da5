"""Stop early, with a clear message, when the configured services are not reachable.

PostgreSQL (when DATABASE_URL points at it) gets its database created if it is missing, so
`make run` and `make test` work against a fresh server.
"""

import os
import sys

import psycopg
import redis

database_url = os.environ.get("DATABASE_URL", "")
redis_url = os.environ.get("REDIS_URL") or ""
problems = []
if database_url.startswith(("postgres://", "postgresql://")):
    try:
        admin_url, database_name = database_url.rsplit("/", 1)
        with psycopg.connect(admin_url + "/postgres", connect_timeout=5, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name])
            if exists.fetchone() is None:
                admin.execute(f'CREATE DATABASE "{database_name}"')
    except psycopg.Error as error:
        problems.append(
            f"PostgreSQL is not reachable at {database_url} ({str(error).strip()}).\n"
            "  Start it with:"
            " pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "  or `docker compose up -d` (compose.yaml), or set DATABASE_URL."
        )
if redis_url:
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        problems.append(
            f"Redis is not reachable at {redis_url} ({error}).\n"
            '  Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""'
            " --appendonly no\n  or `docker compose up -d` (compose.yaml), or set REDIS_URL."
        )
if problems:
    print("Ladder needs these services:\n" + "\n".join(problems))
    sys.exit(2)
