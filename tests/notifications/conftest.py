import pytest

from amiportal.celery import app as celery_app


@pytest.fixture
def eager(monkeypatch):
    """Tasks run in the test's process at .delay(), as a worker would run them."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)
