"""What the operator sees of the running portal: a request id on every answer, one log
line per request (JSON with ``LOG_FORMAT=json``), and Prometheus metrics at ``/metrics``
(off unless ``METRICS_ENABLED``).

* The request id is the caller's ``X-Request-ID`` when it looks like one (a proxy's),
  else a new one; it goes back in ``X-Request-ID``, into the request's log line and
  onto the 500 page as the error reference, so a user's report finds the log line.
* The log line holds the method, the route's template (``/change-requests/<int:id>``,
  never the path's ids or query), the status, the duration, the user id and the request id.
* Metrics: request durations by route template, method and status; job durations and
  failures by kind (``job_finished``, called by the job runner); the job queue's depth
  when Redis is configured (read at each scrape). Under gunicorn with several workers,
  set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory so that each scrape adds up
  every worker's figures. ``METRICS_TOKEN``, when set, is the bearer token the scraper
  must send.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("portal.requests")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

# Seconds; a page is fast under 0.1 s, an export or a document may take seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
REQUESTS = Histogram("portal_request_duration_seconds", "Time to answer a request, by route template.",
                     ["method", "route", "status"], buckets=BUCKETS)
JOBS = Histogram("portal_job_duration_seconds", "Time a background job ran, by kind and outcome.",
                 ["kind", "outcome"], buckets=(*BUCKETS, 60, 120, 300))
JOB_FAILURES = Counter("portal_job_failures_total", "Background job attempts that failed, by kind.", ["kind"])

# Functions that return the queues' depths ({queue name: jobs waiting}); the job runner
# adds one when Redis is configured.
QUEUE_DEPTHS: list[Callable[[], dict[str, int]]] = []


def request_id() -> str | None:
    """The current request's id (``None`` outside a request)."""
    return g.get("request_id")


def job_finished(kind: str, seconds: float, *, failed: bool) -> None:
    """Count a background job's attempt (the job runner calls this)."""
    JOBS.labels(kind, "failed" if failed else "finished").observe(seconds)
    if failed:
        JOB_FAILURES.labels(kind).inc()


def _user_id() -> int | None:
    """The signed-in user's id if the request loaded one, without loading anything
    (after a lost database the user's attributes are expired)."""
    user = g.get("_login_user")
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    return state.identity[0] if state is not None and state.identity else None


def _route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _begin() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _end(response):
    response.headers["X-Request-ID"] = g.get("request_id") or ""
    started = g.get("request_started")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    route = _route()
    if current_app.config["METRICS_ENABLED"]:
        REQUESTS.labels(request.method, route, str(response.status_code)).observe(seconds)
    if current_app.config["LOG_REQUESTS"]:
        log.info("%s %s %s", request.method, route, response.status_code, extra={
            "method": request.method, "route": route, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1), "user_id": _user_id(), "request_id": g.request_id})
    return response


class _QueueDepth:
    """The jobs waiting in each queue, read when the scraper asks."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("portal_job_queue_depth", "Jobs waiting in each queue.", labels=["queue"])
        for depths in QUEUE_DEPTHS:
            try:
                for queue, depth in depths().items():
                    gauge.add_metric([queue], depth)
            except Exception as error:  # a scrape must not fail because Redis is away
                logging.getLogger(__name__).warning("queue depth unavailable: %s", type(error).__name__)
        yield gauge


def _registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        from prometheus_client import REGISTRY as registry
    return registry


_QUEUE_REGISTRY = CollectorRegistry()
_QUEUE_REGISTRY.register(_QueueDepth())


def metrics() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401)
    body = generate_latest(_registry()) + generate_latest(_QUEUE_REGISTRY)
    response = Response(body, mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _configure_logging(app: Flask) -> None:
    """``LOG_FORMAT=json``: every log line (the requests' and the rest) as one JSON object."""
    if app.config["LOG_FORMAT"] != "json":
        return
    formatter = json_formatter()
    root = logging.getLogger()
    streams = [handler for handler in root.handlers if type(handler) is logging.StreamHandler]
    if not streams:
        streams = [logging.StreamHandler(sys.stderr)]
        root.addHandler(streams[0])
    for handler in streams:
        handler.setFormatter(formatter)


def json_formatter() -> JsonFormatter:
    """One JSON object a line: time, level, logger, message and the record's extra fields."""
    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def init_app(app: Flask) -> None:
    _configure_logging(app)
    app.before_request(_begin)
    app.after_request(_end)
    if app.config["METRICS_ENABLED"]:
        app.add_url_rule("/metrics", "metrics", metrics)
