"""What the operator sees: a request id on every answer and on the 500 page, one log
line per request naming the route's template (not the ids in the path), and Prometheus
metrics that are off by default and behind a token when one is set."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Blueprint

from portal import create_app, observe
from portal.models import Role
from tests.conftest import Browser, base_config


@pytest.fixture
def app_config(database_url):
    return {**base_config(database_url), "LOG_REQUESTS": True, "METRICS_ENABLED": True, "METRICS_TOKEN": "scrape-me"}


def test_every_answer_carries_a_request_id_and_a_proxys_id_is_kept(client):
    first, second = client.get("/login"), client.get("/login")
    assert len(first.headers["X-Request-ID"]) == 32 and first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c1e"}).headers["X-Request-ID"] == "lb-7f3a9c1e"
    # A header that is not an id (too short, or with characters a log must not hold) is replaced.
    assert client.get("/healthz", headers={"X-Request-ID": "x\"}"}).headers["X-Request-ID"] != "x\"}"
    # Refused before any view (a NUL in the query) still has one.
    assert client.get("/login?q=%00").headers["X-Request-ID"]


def test_one_log_line_per_request_with_the_route_template(client, auth, alpha, caplog):
    caplog.set_level(logging.INFO, logger="portal.requests")
    request_id = "req-0001-checked"
    approver = alpha.users[Role.CLIENT_APPROVER]
    response = client.get(f"/api/v1/requests/{alpha['request'].id}", headers={**auth(approver.email),
                                                                                "X-Request-ID": request_id})
    assert response.status_code == 200
    [record] = [r for r in caplog.records if r.name == "portal.requests" and getattr(r, "request_id", "") == request_id]
    line = json.loads(observe.json_formatter().format(record))
    assert line["route"] == "/api/v1/requests/<int:request_id>"  # the template, not the id asked for
    assert (line["method"], line["status"], line["user_id"], line["level"]) == ("GET", 200, approver.id, "INFO")
    assert 0 <= line["duration_ms"] < 60_000


def test_the_500_page_shows_the_request_id_as_its_reference(app_config, alpha):
    app = create_app(app_config)
    broken = Blueprint("broken", __name__)

    @broken.route("/broken")
    def fail():
        raise RuntimeError("boom")

    app.register_blueprint(broken)
    browser = Browser(app.test_client())
    browser.login(alpha.users[Role.CLIENT_APPROVER].email)
    response = browser.get("/broken", headers={"X-Request-ID": "support-ticket-42"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "support-ticket-42"
    assert "support-ticket-42" in response.text


def test_metrics_need_the_token_and_count_requests_by_route(client):
    client.get("/login")
    assert client.get("/metrics").status_code == 401
    body = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert body.status_code == 200 and body.mimetype == "text/plain"
    text = body.get_data(as_text=True)
    assert 'portal_request_duration_seconds_count{method="GET",route="/login",status="200"}' in text
    assert "portal_job_queue_depth" in text


def test_metrics_are_off_by_default(database_url):
    app = create_app(base_config(database_url))
    assert app.test_client().get("/metrics").status_code == 404
