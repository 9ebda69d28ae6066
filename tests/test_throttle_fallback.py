"""When the throttle's Redis is unreachable, failed sign-ins are counted in the database
with the same limits: sign-in fails closed (429), never open."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.models import LoginFailure
from portal.models.base import utcnow
from tests.conftest import PASSWORD, skip_or_fail
from tests.factories import build_account

EMAIL = "client.viewer@alpha.example"
CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def alpha(session):
    world = build_account(session, "Alpha")
    session.commit()
    return world


def sign_in(client, email: str = EMAIL, password: str = "wrong password!"):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def statuses(client, attempts: int, **kwargs) -> list[int]:
    return [sign_in(client, **kwargs).status_code for _ in range(attempts)]


def failures_in_database(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(LoginFailure))


def test_with_redis_unreachable_failures_per_account_are_counted_in_the_database(app_config, alpha, session):
    client = create_app({**app_config, "RATELIMIT_STORAGE_URI": CLOSED_PORT}).test_client()
    assert statuses(client, 15) == [401] * 10 + [429] * 5
    blocked = sign_in(client, password=PASSWORD)  # the right password too, while blocked
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 60
    assert failures_in_database(session) == 20  # per account and per address


def test_with_redis_unreachable_failures_per_address_are_counted_in_the_database(app_config, alpha, session):
    config = {**app_config, "RATELIMIT_STORAGE_URI": CLOSED_PORT, "LOGIN_FAILURES_PER_ADDRESS": "5 per 15 minutes"}
    client = create_app(config).test_client()
    answers = [sign_in(client, email=f"nobody{n}@alpha.example").status_code for n in range(7)]
    assert answers == [401] * 5 + [429] * 2


def test_the_sign_in_page_is_throttled_too_with_redis_unreachable(app_config, alpha, new_browser):
    from tests.conftest import Browser

    browser = Browser(create_app({**app_config, "RATELIMIT_STORAGE_URI": CLOSED_PORT}).test_client())
    answers = [browser.login(EMAIL, "wrong password!").status_code for _ in range(11)]
    assert answers == [401] * 10 + [429]


def test_failures_older_than_the_window_are_deleted_when_one_is_recorded(app_config, alpha, session):
    session.add(LoginFailure(key="login-fail:email:old@alpha.example", failed_at=utcnow() - timedelta(days=1)))
    session.commit()
    assert sign_in(create_app({**app_config, "RATELIMIT_STORAGE_URI": CLOSED_PORT}).test_client()).status_code == 401
    session.rollback()
    assert sorted(session.scalars(sa.select(LoginFailure.key))) == ["login-fail:addr:127.0.0.1",
                                                                    f"login-fail:email:{EMAIL}"]


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of this test's own, on a free port, that the test may stop."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed (Debian package redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
            time.sleep(0.05)
    yield server, f"redis://127.0.0.1:{port}/0", client
    client.close()
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=10)


def test_when_redis_stops_mid_way_counting_goes_on_in_the_database(app_config, alpha, session, redis_server):
    server, url, redis_client = redis_server
    config = {**app_config, "RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    client = create_app(config).test_client()
    assert statuses(client, 5) == [401] * 5
    assert redis_client.keys("*login-fail*") and failures_in_database(session) == 0  # counted in Redis
    redis_client.close()
    server.terminate()
    server.wait(timeout=10)
    # Redis's five are gone with it; the database counts from here, to the same limit.
    assert statuses(client, 11) == [401] * 10 + [429]
    assert failures_in_database(session) == 20


def test_with_redis_unreachable_wrong_passwords_sent_with_a_decision_are_counted_too(app_config, alpha, session):
    """A decision whose token is stale may carry the password: a wrong one is a failed
    sign-in, kept although the decision is refused (the refusal keeps its work)."""
    from portal.auth.service import issue_api_token
    from portal.models import ApiToken, Role
    from tests.conftest import bearer

    approver = alpha.user(Role.CLIENT_APPROVER)
    token, _expires = issue_api_token(session, approver)
    session.flush()
    session.execute(sa.update(ApiToken).values(created_at=utcnow() - timedelta(minutes=30)))
    session.commit()
    client = create_app({**app_config, "RATELIMIT_STORAGE_URI": CLOSED_PORT}).test_client()
    url = f"/api/v1/change-requests/{alpha['change_request'].id}/approve"
    body = {"version": alpha["change_request"].version, "signature_name": approver.name, "password": "wrong!"}
    answers = [client.post(url, headers=bearer(token), json=body).status_code for _ in range(12)]
    assert answers == [401] * 10 + [429] * 2
