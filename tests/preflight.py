"""Stop early, with a clear message, when the test services are not reachable."""

import os
import sys

import psycopg
import redis

database_url = os.environ["DATABASE_URL"]
redis_url = os.environ["REDIS_URL"]
problems = []
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
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
except redis.RedisError as error:
    problems.append(
        f"Redis is not reachable at {redis_url} ({error}).\n"
        '  Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""'
        " --appendonly no\n  or `docker compose up -d` (compose.yaml), or set REDIS_URL."
    )
if problems:
    print("The test suite needs real PostgreSQL and Redis:\n" + "\n".join(problems))
    sys.exit(2)
