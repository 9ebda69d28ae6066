"""Failed sign-ins are counted across workers when the counters live in Redis."""

from __future__ import annotations

import uuid

import pytest

from portal import create_app
from tests.conftest import skip_or_fail
from tests.factories import build_account

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail("no Redis at 127.0.0.1:6379")
    return REDIS_URL


def test_two_workers_share_the_failure_count(app_config, session, redis_url):
    build_account(session, "Alpha")
    session.commit()
    # A fresh key prefix per run, so runs on both databases do not count together.
    config = {**app_config, "RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    workers = [create_app(config).test_client(), create_app(config).test_client()]
    email = "client.viewer@alpha.example"
    for attempt in range(10):
        response = workers[attempt % 2].post("/api/v1/auth/token", json={"email": email, "password": "wrong password!"})
        assert response.status_code == 401, attempt
    blocked = workers[0].post("/api/v1/auth/token", json={"email": email, "password": "wrong password!"})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
