"""Failed sign-ins are counted across workers when the counters live in Redis."""

from __future__ import annotations

import uuid


from portal import create_app
from tests.factories import build_account


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
