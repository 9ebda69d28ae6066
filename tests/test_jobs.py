"""Background jobs without Redis (the embedded default): a job asked for in a unit of
work runs in the same process after the commit, never for a rolled-back change; fails
are retried with back-off, then fail with their reason; the same key is one job; the
work is kept once however often it is delivered; who may see a job, in the API and on
the page; the periodic jobs asked for once per period; the progress bar in Chromium.

The Redis half (a real worker killed mid-job, two schedulers) is ``test_jobs_redis.py``."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.jobs import attach_file, enqueue, job_json
from portal.database import writing
from portal.jobs.core import attempt
from portal.jobs.schedule import PERIODIC, ask_due, prune, recover, tick
from portal.models import Document, DocumentKind, IdempotencyKey, Job, JobFile, JobOutput, JobStatus, Role
from tests import job_kinds
from tests.conftest import app_session, base_config, bearer, sign_in_page
from tests.factories import make_account
from tests.helpers import finish_jobs, signed_in, wait_until

AM = "account.manager@alpha.example"


@pytest.fixture
def app_config(database_url) -> dict:
    # No waiting between retries here; the back-off itself is RQ's (test_jobs_redis.py).
    return {**base_config(database_url), "JOB_RETRY_INTERVALS": [0, 0]}


def ask(session, kind: str, **params) -> Job:
    """Ask for a job in ``session``'s unit of work and commit it. On SQLite the unit of
    work takes the write lock at its start, as a request that writes does: a job of the
    web process may be writing at the same moment, and a read that turns into a write
    meanwhile is refused at once ("database is locked"), whatever the busy timeout."""
    with writing():
        row = enqueue(session, kind, **params)
        session.commit()
    return row


def queued(session, kind: str, **params) -> Job:
    """A queued job's row written directly: handed to no backend, for a test that runs
    its attempts itself."""
    row = Job(id=f"queued-{uuid.uuid4().hex[:20]}", kind=kind, params=params,
              message="Waiting to start")
    session.add(row)
    session.commit()
    return row


def reread(session, row: Job) -> Job:
    session.rollback()
    return session.scalars(sa.select(Job).where(Job.id == row.id)).one()


@pytest.fixture
def jobs_done(session):
    """``jobs_done()``: wait for the jobs handed to the threads of the ``session``'s app."""
    from flask import current_app

    return lambda: finish_jobs(current_app._get_current_object())


@pytest.fixture(autouse=True)
def _no_job_left_running(app, session, jobs_done):
    """No job thread outlives its test (and its database)."""
    yield
    jobs_done()
    finish_jobs(app)


# --- after the commit, in the process ----------------------------------------------------------


def test_a_committed_job_runs_in_the_process_after_the_commit(session, jobs_done):
    row = ask(session, "test_effect", steps=2)
    jobs_done()
    row = reread(session, row)
    assert (row.status, row.progress, row.message, row.attempts) == (JobStatus.FINISHED, 1.0, "Done", 1)
    assert row.result_url == f"/effects/{row.id}/1" and row.started_at <= row.finished_at
    assert job_kinds.effect_count(session, row.id) == 1


def test_a_job_asked_for_in_a_rolled_back_unit_of_work_never_runs(session, jobs_done):
    rolled_back = enqueue(session, "test_effect")
    session.rollback()
    kept = ask(session, "test_effect")
    jobs_done()
    assert rolled_back.id not in job_kinds.RUNS and job_kinds.RUNS[-1] == kept.id
    assert session.scalars(sa.select(Job.id)).all() == [kept.id]
    assert job_kinds.effect_count(session, rolled_back.id) == 0


def test_a_job_is_handed_over_at_the_commit_not_when_a_savepoint_is_released(session, monkeypatch):
    from flask import current_app

    from portal.jobs.backends import backend

    handed: list[str] = []
    monkeypatch.setattr(backend(current_app._get_current_object()), "submit", handed.append)
    first = enqueue(session, "test_effect")
    second = enqueue(session, "test_effect")  # its savepoint is released after the first was asked for
    with session.begin_nested():
        pass
    assert handed == []
    session.commit()
    assert handed == [first.id, second.id]


def test_a_job_asked_for_in_a_savepoint_that_rolled_back_is_not_handed_over(session, jobs_done):
    outer = enqueue(session, "test_effect")
    savepoint = session.begin_nested()
    inner = enqueue(session, "test_effect")
    savepoint.rollback()
    session.commit()
    jobs_done()
    assert inner.id not in job_kinds.RUNS and outer.id in job_kinds.RUNS
    assert reread(session, outer).status is JobStatus.FINISHED


# --- failures -----------------------------------------------------------------------------------


def test_a_failing_job_is_retried_then_fails_with_the_reason_logged(session, jobs_done, caplog):
    row = ask(session, "test_flaky", failures=99)
    with caplog.at_level(logging.ERROR, logger="portal.jobs.core"):
        jobs_done()
    row = reread(session, row)
    assert (row.status, row.attempts) == (JobStatus.FAILED, 3)  # the first try and the two retries of JOB_RETRY_INTERVALS
    assert row.message == "Something went wrong on our side." and row.finished_at is not None
    assert job_kinds.effect_count(session, row.id) == 0
    reasons = [r for r in caplog.records if row.id in r.getMessage()]
    assert len(reasons) == 3 and all("the converter does not answer" in r.exc_text for r in reasons)
    assert "it will be tried again" in reasons[0].getMessage() and "tried again" not in reasons[-1].getMessage()


def test_a_job_that_failed_once_is_finished_by_its_retry(session, jobs_done):
    row = ask(session, "test_flaky", failures=1)
    jobs_done()
    row = reread(session, row)
    assert (row.status, row.attempts, row.message, row.result_url) == (JobStatus.FINISHED, 2, "Done", "/flaky/done")
    assert job_kinds.effect_count(session, row.id) == 1


def test_between_its_attempts_a_job_is_queued_again_with_what_happened(session):
    row = queued(session, "test_flaky", failures=1)
    with pytest.raises(ConnectionError):
        attempt(row.id, final=False)
    row = reread(session, row)
    assert (row.status, row.attempts) == (JobStatus.QUEUED, 1)
    assert row.message == "This did not work; it will be tried again shortly."


def test_a_refused_job_fails_at_once_with_the_rules_message(session, jobs_done):
    row = ask(session, "test_refused")
    jobs_done()
    row = reread(session, row)
    assert (row.status, row.attempts, row.message) == (JobStatus.FAILED, 1, "This account has no contract yet.")


# --- once ---------------------------------------------------------------------------------------


def test_the_same_kind_and_key_asked_for_twice_is_one_job(session, jobs_done):
    first = enqueue(session, "test_effect", key="2026-11")
    assert enqueue(session, "test_effect", key="2026-11") is first
    session.commit()
    again = ask(session, "test_effect", key="2026-11")
    other = ask(session, "test_effect", key="2026-12")
    jobs_done()
    assert again.id == first.id and other.id != first.id
    assert job_kinds.RUNS.count(first.id) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 2


def test_a_job_that_failed_for_good_is_asked_for_anew_only_when_the_caller_says_so(session, jobs_done):
    failed = ask(session, "test_refused", key="pdf-of-x")
    jobs_done()
    assert reread(session, failed).status is JobStatus.FAILED
    assert ask(session, "test_refused", key="pdf-of-x").id == failed.id  # the same failed job
    again = ask(session, "test_refused", key="pdf-of-x", again_if_failed=True)
    assert again.id != failed.id and again.key == "pdf-of-x"
    assert ask(session, "test_refused", key="pdf-of-x", again_if_failed=True).id == again.id  # while it is not failed
    jobs_done()
    failed = reread(session, failed)
    assert (failed.status, failed.key) == (JobStatus.FAILED, None)  # still failed for whoever follows it
    assert job_kinds.RUNS.count(failed.id) == 1 and job_kinds.RUNS.count(again.id) == 1


def test_a_job_delivered_again_after_it_finished_does_nothing(session):
    row = queued(session, "test_effect")
    attempt(row.id, final=False)
    attempt(row.id, final=False)  # RQ delivering it twice
    row = reread(session, row)
    assert (row.status, row.attempts) == (JobStatus.FINISHED, 1)
    assert job_kinds.effect_count(session, row.id) == 1


def test_an_attempt_whose_job_was_taken_over_keeps_no_work(session):
    row = queued(session, "test_taken_over")
    attempt(row.id, final=False)
    row = reread(session, row)
    assert (row.status, row.runner) == (JobStatus.STARTED, "another attempt")
    assert job_kinds.effect_count(session, row.id) == 0


def test_a_job_whose_worker_died_is_taken_over_by_its_retry(session):
    row = queued(session, "test_effect")
    session.execute(sa.update(Job).where(Job.id == row.id).values(status=JobStatus.STARTED, runner="dead", attempts=1))
    session.commit()
    attempt(row.id, final=True)
    row = reread(session, row)
    assert (row.status, row.attempts) == (JobStatus.FINISHED, 2)
    assert job_kinds.effect_count(session, row.id) == 1


def test_a_retried_review_pack_makes_one_document(app, session, alpha, new_browser):
    """The pack's work and the job's "finished" commit together: the attempt a dead
    worker left makes nothing, its retry the one document, a late delivery nothing."""
    am = signed_in(new_browser, AM)
    page = f"/scorecards/{alpha.account.id}"
    response = am.post_form(f"/scorecards/{alpha.account.id}/review-pack", page=page)
    job_id = parse_qs(urlsplit(response.location).query)["job"][0]
    finish_jobs(app)
    with app.app_context():
        attempt(job_id, final=True)  # delivered again
    session.rollback()
    documents = session.scalars(sa.select(Document).where(Document.kind == DocumentKind.REVIEW_PACK)).all()
    row = session.scalars(sa.select(Job).where(Job.id == job_id)).one()
    assert len(documents) == 1 and (row.status, row.attempts) == (JobStatus.FINISHED, 1)
    assert row.result_url == f"/documents/{documents[0].id}/download"


# --- a job's file and its result ---------------------------------------------------------------


def with_file(session, kind: str, **params) -> Job:
    """A queued job of ``kind`` given a file (``attach_file``), handed to no backend."""
    row = queued(session, kind, **params)
    attach_file(session, row, "invoices.csv", b"number,account\n")
    session.commit()
    return row


def files_of(session, row: Job) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(JobFile).where(JobFile.job_id == row.id))


def test_a_jobs_file_is_kept_for_its_retries_and_deleted_with_its_work_when_it_finishes(session):
    row = with_file(session, "test_read_file", failures=1)
    with pytest.raises(ConnectionError):
        attempt(row.id, final=False)
    assert files_of(session, row) == 1
    attempt(row.id, final=True)
    row = reread(session, row)
    assert (row.status, row.result) == (JobStatus.FINISHED, {"name": "invoices.csv", "size": 15})
    assert files_of(session, row) == 0 and job_kinds.effect_count(session, row.id) == 1


@pytest.mark.parametrize("change", ["refused", "failed"])
def test_a_jobs_file_is_deleted_when_it_fails_for_good(session, change):
    row = with_file(session, "test_read_file", **({"refuse": True} if change == "refused" else {"failures": 9}))
    if change == "refused":
        attempt(row.id, final=False)
    else:
        with pytest.raises(ConnectionError):
            attempt(row.id, final=True)
    assert reread(session, row).status is JobStatus.FAILED
    assert files_of(session, row) == 0 and job_kinds.effect_count(session, row.id) == 0


def test_what_a_refused_job_ended_with_is_kept_though_its_work_is_not_and_its_kind_shows_it(session, alpha):
    row = with_file(session, "test_read_file", refuse=True)
    row.user_id = alpha.user(Role.ACCOUNT_MANAGER).id
    session.commit()
    attempt(row.id, final=False)
    row = reread(session, row)
    assert (row.status, row.result) == (JobStatus.FAILED, {"name": "invoices.csv", "size": 15})
    assert job_kinds.effect_count(session, row.id) == 0
    assert job_json(row)["message"] == "read 15 bytes of invoices.csv"


def test_a_jobs_file_goes_with_the_job(session):
    row = with_file(session, "test_read_file")
    session.execute(sa.delete(Job).where(Job.id == row.id))
    session.commit()
    assert files_of(session, row) == 0


def test_progress_reported_inside_a_savepoint_keeps_the_work(session):
    """On SQLite a report ends the work's transaction when it wrote nothing yet; inside
    a savepoint it is skipped instead, since ending the transaction would undo the
    savepoint."""
    row = queued(session, "test_savepoint_progress")
    attempt(row.id, final=True)
    row = reread(session, row)
    assert (row.status, row.result_url) == (JobStatus.FINISHED, "/savepoint/done")
    assert job_kinds.effect_count(session, row.id) == 1


# --- who sees a job ------------------------------------------------------------------------------


@pytest.fixture
def started(session, alpha, admin):
    """A job started by Alpha's account manager."""
    return ask(session, "test_effect", by=alpha.user(Role.ACCOUNT_MANAGER), account_id=alpha.account.id)


def test_the_api_shows_a_job_to_who_started_it_and_to_admins(client, auth, session, started, jobs_done):
    jobs_done()
    expected = {"id": started.id, "status": "finished", "progress": 1.0, "message": "Done",
                "result_url": f"/effects/{started.id}/1"}
    for email in (AM, "admin@firm.example"):
        response = client.get(f"/api/v1/jobs/{started.id}", headers=auth(email))
        assert (response.status_code, response.json) == (200, expected)


@pytest.mark.parametrize("email", ["client.approver@alpha.example", "finance@alpha.example",
                                   "regional.reviewer@alpha.example"])
def test_someone_elses_job_answers_404_like_a_missing_one(client, auth, new_browser, started, email):
    for path in (f"/jobs/{started.id}", "/jobs/no-such-job"):
        api = client.get(f"/api/v1{path}", headers=auth(email))
        assert api.status_code == 404 and api.json["error"]["code"] == "not_found"
        assert started.id not in api.text
        assert signed_in(new_browser, email).get(path).status_code == 404


def test_a_kind_may_show_its_jobs_to_more_people(client, auth, new_browser, session, alpha, bravo, admin):
    """``shown_to`` of test_shown_by_account: anyone whose scope holds the account named
    in the job's parameters (in the viewer's scope, whoever started the job)."""
    row = ask(session, "test_shown_by_account", by=alpha.user(Role.ACCOUNT_MANAGER), shown_account=alpha.account.id)
    for email in ("client.viewer@alpha.example", "finance@alpha.example"):
        assert client.get(f"/api/v1/jobs/{row.id}", headers=auth(email)).status_code == 200, email
        assert signed_in(new_browser, email).get(f"/jobs/{row.id}").status_code == 200, email
    for email in ("client.viewer@bravo.example", "account.manager@bravo.example"):
        assert client.get(f"/api/v1/jobs/{row.id}", headers=auth(email)).status_code == 404, email
        assert signed_in(new_browser, email).get(f"/jobs/{row.id}").status_code == 404, email


def test_a_job_is_not_shown_without_signing_in(client, new_browser, started):
    assert client.get(f"/api/v1/jobs/{started.id}").status_code == 401
    assert client.get(f"/api/v1/jobs/{started.id}", headers=bearer("not-a-token")).status_code == 401
    assert new_browser().get(f"/jobs/{started.id}").status_code == 302


def test_the_page_sees_its_job_in_the_users_language(session, alpha, new_browser):
    row = queued(session, "test_effect")
    row.user_id = alpha.user(Role.ACCOUNT_MANAGER).id
    session.commit()
    browser = signed_in(new_browser, AM)
    assert browser.get(f"/jobs/{row.id}").json == {"id": row.id, "status": "queued", "progress": 0.0,
                                                   "message": "Waiting to start", "result_url": None}
    browser.post_form("/language", {"language": "zh"})
    assert browser.get(f"/jobs/{row.id}").json["message"] == "等待开始"


def test_the_openapi_document_describes_the_job(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/jobs/{job_id}"]["get"]
    assert operation["tags"] == ["jobs"] and operation["parameters"][0]["schema"] == {"type": "string"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JobOut"}
    schema = document["components"]["schemas"]["JobOut"]
    assert set(schema["properties"]) == {"id", "status", "progress", "message", "result_url", "problems"}
    assert schema["properties"]["status"]["enum"] == ["queued", "started", "finished", "failed"]
    assert "404" in operation["responses"]


# --- the periodic jobs --------------------------------------------------------------------------


MONDAY = datetime(2026, 11, 9, 10, 7, 30, tzinfo=UTC)


def kinds_and_keys(session) -> list[tuple[str, str]]:
    session.rollback()
    return sorted(session.execute(sa.select(Job.kind, Job.key).where(Job.kind.in_([p.kind for p in PERIODIC]))).all())


def test_each_periodic_job_is_asked_for_once_per_period(session, app_config):
    from flask import current_app

    with writing():  # as the scheduler does: the jobs it hands over commit while it works
        made = ask_due(session, MONDAY)
        session.commit()
    assert sorted((j.kind, j.key) for j in made) == [
        ("contract_renewals", "2026-11-09"), ("mail_send", "2026-11-09T10:07Z"),
        ("meeting_reminders", "2026-11-09T10:00Z"), ("notification_digest", "2026-11-09T10:00Z"),
        ("portfolio_alerts", "2026-11-09"), ("review_packs", "2026-11"),
        ("service_credits", "2026-11"),
        ("sla_check", "2026-11-09T10:05Z")]
    # A second scheduler in the same minute, and one a minute later, find the periods taken.
    with app_session(app_config) as other, writing():
        assert ask_due(other, MONDAY + timedelta(seconds=20)) == []
        other.commit()
        later = ask_due(other, MONDAY + timedelta(minutes=1))
        assert [(j.kind, j.key) for j in later] == [("mail_send", "2026-11-09T10:08Z")]
        other.commit()
        finish_jobs(current_app._get_current_object())  # the other scheduler's app runs its jobs
    assert len(kinds_and_keys(session)) == 9


def test_the_review_packs_are_asked_for_from_their_day_of_the_month(session, app_config):
    with app_session({**app_config, "REVIEW_PACK_DAY": 12}) as early:
        assert "review_packs" not in [j.kind for j in ask_due(early, MONDAY)]
        assert "review_packs" in [j.kind for j in ask_due(early, MONDAY.replace(day=12))]


def test_the_monthly_run_asks_for_one_pack_per_account_and_month(session, alpha, admin, jobs_done):
    make_account(session, "Account Without Contract")
    parent = ask(session, "review_packs", key="2026-11")
    jobs_done()
    packs = session.scalars(sa.select(Job).where(Job.kind == "review_pack", Job.key.is_not(None))).all()
    month = f"{(alpha.account.today().replace(day=1) - timedelta(days=1)):%Y-%m}"
    assert [(p.account_id, p.key, p.params, p.status) for p in packs] == [
        (alpha.account.id, f"monthly:{alpha.account.id}:{month}", {"period": month}, JobStatus.FINISHED)]
    assert reread(session, parent).status is JobStatus.FINISHED
    [document] = session.scalars(sa.select(Document).where(Document.kind == DocumentKind.REVIEW_PACK)).all()
    assert document.number == f"MSR-{month}-0001" and document.created_by_id == admin.id
    ask(session, "review_packs", key="the same month again")
    jobs_done()
    assert session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.key.like("monthly:%"))) == 1


def test_the_monthly_service_credits_job_proposes_last_months_credits(session, alpha, jobs_done):
    """The body of the scheduled ``service_credits``: last month's (UTC) SLA misses become
    proposed credits, computed by the contract's rule; run again, nothing new."""
    from decimal import Decimal

    from portal.kpis.service import previous_month
    from portal.models import KpiMeasurement, ServiceCredit, ServiceCreditStatus

    month = previous_month(datetime.now(UTC).date().replace(day=1))
    kpi = alpha["kpi"]
    kpi.is_sla, kpi.service_credit_percent = True, Decimal("5")
    session.add(KpiMeasurement(account_id=alpha.account.id, kpi_id=kpi.id, period=month, actual=Decimal("90")))
    session.commit()
    row = ask(session, "service_credits", key=f"{month:%Y-%m}")
    jobs_done()
    row = reread(session, row)
    assert row.status is JobStatus.FINISHED, row.message
    assert row.result == {"period": f"{month:%Y-%m}", "proposed": 1, "recomputed": 0}
    [credit] = session.scalars(sa.select(ServiceCredit).where(ServiceCredit.kpi_id == kpi.id,
                                                              ServiceCredit.period == month)).all()
    # 5 % of the contract's one line, 100 payslips a year at 10.00: 83.33 a month.
    assert (credit.status, credit.amount, credit.account_id) == (ServiceCreditStatus.PROPOSED, Decimal("4.17"),
                                                                 alpha.account.id)
    again = ask(session, "service_credits", key=f"{month:%Y-%m} again")
    jobs_done()
    assert reread(session, again).result == {"period": f"{month:%Y-%m}", "proposed": 0, "recomputed": 1}


def test_a_scheduler_round_runs_the_due_jobs_in_the_process(app_config, session):
    app = create_app({**app_config, "REVIEW_PACK_DAY": 1})
    made = tick(app)
    finish_jobs(app)
    assert sorted(j.kind for j in made) == ["contract_renewals", "mail_send", "meeting_reminders", "notification_digest",
                                            "portfolio_alerts", "review_packs", "service_credits", "sla_check"]
    assert {(j.status, j.attempts) for j in session.scalars(sa.select(Job)).all()} == {(JobStatus.FINISHED, 1)}


def test_a_queued_job_never_handed_over_is_handed_over_again(session, jobs_done):
    lost = Job(id="lost-job", kind="test_effect", params={}, created_at=datetime.now(UTC) - timedelta(minutes=3))
    recent = Job(id="recent-job", kind="test_effect", params={})
    session.add_all([lost, recent])
    session.commit()
    assert recover(session) == 1
    jobs_done()
    assert reread(session, lost).status is JobStatus.FINISHED and reread(session, recent).status is JobStatus.QUEUED


def test_old_finished_jobs_are_deleted_with_the_files_they_made(session):
    old = datetime.now(UTC) - timedelta(days=31)
    session.add_all([Job(id="old-finished", kind="test_effect", params={}, status=JobStatus.FINISHED, created_at=old),
                     Job(id="old-queued", kind="test_effect", params={}, created_at=old),
                     Job(id="new-finished", kind="test_effect", params={}, status=JobStatus.FINISHED)])
    session.flush()
    session.add_all([JobOutput(job_id=job_id, filename="report.pdf", content_type="application/pdf", size=4,
                               data=b"%PDF") for job_id in ("old-finished", "new-finished")])
    session.commit()
    assert prune(session) == 1
    session.commit()
    assert sorted(session.scalars(sa.select(Job.id))) == ["new-finished", "old-queued"]
    assert session.scalars(sa.select(JobOutput.job_id)).all() == ["new-finished"]


def test_a_scheduler_round_forgets_idempotency_keys_older_than_a_day(app_config, session, admin):
    old, recent = datetime.now(UTC) - timedelta(hours=25), datetime.now(UTC) - timedelta(hours=23)
    session.add_all([IdempotencyKey(user_id=admin.id, key="old", request_hash="0" * 64, status_code=201, response={},
                                    created_at=old),
                     IdempotencyKey(user_id=admin.id, key="recent", request_hash="0" * 64, status_code=201, response={},
                                    created_at=recent)])
    session.commit()
    app = create_app(app_config)
    tick(app)
    finish_jobs(app)
    session.rollback()
    assert list(session.scalars(sa.select(IdempotencyKey.key))) == ["recent"]


def test_the_worker_needs_redis(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("JOB_RETRY_INTERVALS", "10,soon", "whole seconds"), ("JOB_RETRY_INTERVALS", "-5", "negative"),
    ("REVIEW_PACK_DAY", "31", "1 to 28"), ("REVIEW_PACK_DAY", "0", "1 to 28")])
def test_job_settings_are_checked_at_start(name, value, problem):
    from portal.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=problem):
        load_config({"PORTAL_ENV": "testing", name: value})
    assert load_config({"PORTAL_ENV": "testing", "JOB_RETRY_INTERVALS": ""})["JOB_RETRY_INTERVALS"] == []


# --- the progress bar ----------------------------------------------------------------------------


@pytest.mark.browser
def test_the_progress_bar_follows_the_review_pack_until_its_link(page, session, alpha, monkeypatch):
    """The scorecard's button starts the pack; the page shows the job's progress as the
    worker reports it, without reloading, then the link to the document."""
    from portal.kpis import review_pack

    reading, go_on = threading.Event(), threading.Event()
    build_input = review_pack.build_input

    def slow_build_input(*args, **kwargs):
        reading.set()
        assert go_on.wait(30)
        return build_input(*args, **kwargs)

    monkeypatch.setattr(review_pack, "build_input", slow_build_input)
    sign_in_page(page, AM)
    page.goto(f"/scorecards/{alpha.account.id}")
    page.get_by_role("button", name="Make the review pack").click()
    page.wait_for_url("**job=*")
    bar = page.locator(".job progress")
    assert reading.wait(30)
    wait_until(lambda: bar.evaluate("b => b.value") >= 0.1)
    assert page.locator("[data-job-message]").inner_text().startswith("Reading the month")
    assert page.locator("[data-job-result]").is_hidden()
    page.evaluate("window.notReloaded = true")
    go_on.set()
    page.locator("[data-job-result]").wait_for(state="visible")
    assert page.evaluate("window.notReloaded")
    assert bar.evaluate("b => b.value") == 1 and page.locator("[data-job-message]").inner_text() == "Done"
    session.rollback()
    document = session.scalars(sa.select(Document).where(Document.kind == DocumentKind.REVIEW_PACK)).one()
    assert page.locator("[data-job-result]").get_attribute("href") == f"/documents/{document.id}/download"



def test_each_attempt_is_timed_and_counted_for_the_operator(session):
    """/metrics (portal.observe): job durations by kind and outcome, failures by kind."""
    from prometheus_client import REGISTRY

    def sample(name: str, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (sample("portal_job_duration_seconds_count", kind="test_effect", outcome="finished"),
              sample("portal_job_failures_total", kind="test_refused"))
    attempt(queued(session, "test_effect").id, final=True)
    attempt(queued(session, "test_refused").id, final=True)
    assert sample("portal_job_duration_seconds_count", kind="test_effect", outcome="finished") == before[0] + 1
    assert sample("portal_job_failures_total", kind="test_refused") == before[1] + 1
