"""GET /readyz (api.md): 200 with ``{"checks": {...}}`` when the database, Redis (if
configured) and the job queue (with Redis: a worker beats) answer, else 503 with the
same JSON naming what failed. Public, like /healthz, which stays as it was."""

from __future__ import annotations

import uuid

import pytest

from portal import create_app
from tests.test_web import OUTAGE_URLS

CLOSED_PORT = "redis://127.0.0.1:1/0"


def readyz(config: dict):
    return create_app(config).test_client().get("/readyz")


def test_ready_when_the_database_answers_and_no_redis_is_configured(app_config):
    response = readyz({**app_config, "REDIS_URL": None})
    assert (response.status_code, response.json) == (200, {"checks": {"database": "ok", "documents": "ok"}})


def test_with_redis_the_job_queue_needs_a_worker(app_config, redis_url):  # noqa: F811
    """With a worker beating on the queue it is ready: tests/test_jobs_redis.py."""
    response = readyz({**app_config, "REDIS_URL": redis_url, "JOB_QUEUE": f"nobody-listens-{uuid.uuid4().hex}"})
    assert (response.status_code, response.json) == (
        503, {"checks": {"database": "ok", "redis": "ok", "queue": "failed", "documents": "ok"}})


def test_not_ready_when_redis_does_not_answer(app_config):
    response = readyz({**app_config, "REDIS_URL": CLOSED_PORT})
    assert (response.status_code, response.json) == (
        503, {"checks": {"database": "ok", "redis": "failed", "queue": "failed", "documents": "ok"}})


@pytest.mark.parametrize("outage", list(OUTAGE_URLS))
def test_not_ready_when_the_database_does_not_answer(app_config, tmp_path, outage):
    response = readyz({**app_config, "SQLALCHEMY_DATABASE_URI": OUTAGE_URLS[outage](tmp_path)})
    assert (response.status_code, response.json) == (503, {"checks": {"database": "failed", "documents": "ok"}})


def test_readiness_and_health_need_no_sign_in(client):
    ready, health = client.get("/readyz"), client.get("/healthz")
    assert ready.status_code == 200 and ready.mimetype == "application/json"
    assert (health.status_code, health.json) == (200, {"status": "ok"})


def test_not_ready_without_libreoffice_or_the_documents_fonts(app_config, monkeypatch):
    from portal.main import readiness

    monkeypatch.setenv("PATH", "/nonexistent")  # no soffice to convert to PDF
    response = readyz({**app_config, "REDIS_URL": None})
    assert (response.status_code, response.json) == (503, {"checks": {"database": "ok", "documents": "failed"}})
    monkeypatch.undo()
    monkeypatch.setattr(readiness, "_fonts_present", lambda: False)  # PDFs would show empty boxes
    assert readyz({**app_config, "REDIS_URL": None}).json["checks"]["documents"] == "failed"
