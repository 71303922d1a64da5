import pytest

from config.celery import app as celery_app


@pytest.fixture
def eager_celery():
    """Run tasks in-process (their services are what the tests are about)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
