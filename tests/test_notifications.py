"""E-mail notifications through the outbox: who is told of what, in which language, and
how ``send_due`` sends (SMTP when configured, else the log), retries with back-off and
finally gives up, without ever losing the change it reports."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from portal import notifications
from portal.models import (
    EscalationContact,
    EscalationTrigger,
    Notification,
    NotificationStatus,
    Priority,
    RequestCategory,
    RequestStatus,
    Role,
    ServiceRequest,
)
from portal.models.base import utcnow
from portal.notifications import BACKOFF, MAX_ATTEMPTS, send_due
from portal.security import _explicit_scope
from portal.service_requests import service
from tests.conftest import api_token, bearer
from tests.factories import raise_request
from tests.helpers import signed_in, translations

CLIENT = "client.approver@alpha.example"
AM = "account.manager@alpha.example"


class RecordingTransport:
    """Keeps every message; fails for the addresses in ``failing`` (or for all)."""

    def __init__(self, failing: set[str] | None = None, fail_all: bool = False):
        self.sent = []
        self.failing = failing or set()
        self.fail_all = fail_all

    def send(self, message):
        if self.fail_all or message["To"] in self.failing:
            raise ConnectionRefusedError("mail server down")
        self.sent.append(message)


@pytest.fixture
def alpha(alpha, session):
    """Alpha in Shanghai with a second escalation level, and an empty outbox."""
    alpha.account.timezone, alpha.account.country = "Asia/Shanghai", "CN"
    session.add(EscalationContact(account_id=alpha.account.id, level=2, name="Level Two", email="l2@alpha.example"))
    # Start from an empty outbox: building the account (its change request) queues mail too.
    session.execute(sa.delete(Notification))
    session.commit()
    return alpha


@pytest.fixture
def transport(session):
    """A recording transport in the app whose context the test (and ``send_due``) runs in."""
    fake = RecordingTransport()
    current_app.extensions["portal_mail_transport"] = fake
    yield fake
    current_app.extensions.pop("portal_mail_transport", None)


def rows_after(session, last_id: int) -> list[Notification]:
    return list(session.scalars(sa.select(Notification).where(Notification.id > last_id).order_by(Notification.id)))


def last_id(session) -> int:
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0)))


def all_rows(session) -> list[Notification]:
    return rows_after(session, 0)


@contextmanager
def outside_any_scope():
    """As in a real ``flask`` process: no scope until the command sets one (the
    ``session`` fixture otherwise runs everything under ``unscoped()``)."""
    token = _explicit_scope.set(None)
    try:
        yield
    finally:
        _explicit_scope.reset(token)


# --- who is told -----------------------------------------------------------------------


def _client_reply(session, w, r):
    service.add_comment(session, r, w.account, w.user(Role.CLIENT_APPROVER), "Any news?")


def _firm_reply(session, w, r):
    service.add_comment(session, r, w.account, w.user(Role.ACCOUNT_MANAGER), "Fixed tonight.")


def _internal_note(session, w, r):
    service.add_comment(session, r, w.account, w.user(Role.ACCOUNT_MANAGER), "Blame HR", internal=True)


def _firm_status_change(session, w, r):
    service.change_status(session, r, w.account, w.user(Role.ACCOUNT_MANAGER), RequestStatus.WAITING_CLIENT)


def _resolve(session, w, r):
    service.change_status(session, r, w.account, w.user(Role.ACCOUNT_MANAGER), RequestStatus.RESOLVED)


def _client_reopens(session, w, r):
    service.change_status(session, r, w.account, w.user(Role.CLIENT_APPROVER), RequestStatus.IN_PROGRESS)


def _client_escalates(session, w, r):
    service.escalate(session, r, w.account, w.user(Role.CLIENT_APPROVER), trigger=EscalationTrigger.CLIENT, reason="Late")


def _low_feedback(session, w, r):
    service.give_feedback(session, w.account, w.user(Role.CLIENT_APPROVER), rating=2, comment="Slow")


def _good_feedback(session, w, r):
    service.give_feedback(session, w.account, w.user(Role.CLIENT_APPROVER), rating=4)


@pytest.mark.parametrize(
    ("prepare", "event", "kind", "recipients"),
    [
        pytest.param(None, _client_reply, "request_reply", {AM}, id="client-reply-to-the-firm"),
        pytest.param(None, _firm_reply, "request_reply", {CLIENT}, id="firm-reply-to-the-client"),
        pytest.param(None, _internal_note, None, set(), id="internal-note-to-nobody"),
        pytest.param(None, _firm_status_change, "request_status", {CLIENT}, id="status-by-the-firm-to-the-client"),
        pytest.param(_resolve, _client_reopens, "request_status", {AM}, id="reopened-by-the-client-to-the-firm"),
        pytest.param(None, _client_escalates, "request_escalated", {"l2@alpha.example", AM}, id="escalation-to-level-2"),
        pytest.param(None, _low_feedback, "feedback_low", {AM}, id="low-feedback-to-the-account-manager"),
        pytest.param(None, _good_feedback, None, set(), id="good-feedback-to-nobody"),
    ],
)
def test_each_event_notifies_the_other_side(session, alpha, prepare, event, kind, recipients):
    request = raise_request(session, alpha)
    if prepare:
        prepare(session, alpha, request)
        session.commit()
    before = last_id(session)
    event(session, alpha, request)
    session.commit()
    rows = rows_after(session, before)
    assert {(row.kind, row.to_email) for row in rows} == {(kind, email) for email in recipients}
    assert all(row.status is NotificationStatus.PENDING and row.account_id == alpha.account.id for row in rows)


def test_a_new_request_notifies_the_account_manager_with_its_due_times(session, alpha):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    manager.timezone = "Asia/Ho_Chi_Minh"
    request = raise_request(session, alpha)
    [row] = all_rows(session)
    assert (row.kind, row.to_email, row.recipient_id, row.language) == ("request_created", AM, manager.id, "en")
    assert row.subject == f"New request #{request.id} from Account Alpha: Payroll run failed"
    assert "March payroll did not run." in row.body
    assert f"/requests/{request.id}" in row.body
    assert "(Vietnam Time)" in row.body  # due times in the recipient's time zone, named in their language


def test_notifications_roll_back_with_the_change(session, alpha):
    service.create_request(session, alpha.account, alpha.user(Role.CLIENT_APPROVER), category=RequestCategory.OTHER,
                           subject="Never mind", description="Rolled back", priority=Priority.LOW)
    session.rollback()
    assert all_rows(session) == []


# --- languages -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_each_message_is_in_the_recipients_language(session, alpha, language):
    client_user = alpha.user(Role.CLIENT_APPROVER)
    client_user.language = language
    request = raise_request(session, alpha)
    _firm_reply(session, alpha, request)
    session.commit()
    [to_manager] = [r for r in all_rows(session) if r.kind == "request_created"]
    [to_client] = [r for r in all_rows(session) if r.kind == "request_reply"]
    assert to_manager.language == "en"
    assert to_client.language == language

    msgid = "Reply on request #%(id)d: %(subject)s"
    values = {"id": request.id, "subject": request.subject}
    english = msgid % values
    translated = translations(language).gettext(msgid)
    if translated == msgid:
        pytest.skip(f"the {language} catalog does not translate {msgid!r} yet: only the language column is checked")
    assert to_client.subject == translated % values
    assert to_client.subject != english


def test_replies_through_the_pages_are_in_each_recipients_language(session, alpha, new_browser):
    """A zh client's request renders in Chinese; the mail it causes is still in the
    recipient's language, and the other way round."""
    alpha.user(Role.CLIENT_APPROVER).language = "zh"
    session.commit()
    request = raise_request(session, alpha)
    signed_in(new_browser, CLIENT).post_form(f"/requests/{request.id}/comments", {"body": "请尽快处理"})
    signed_in(new_browser, AM).post_form(f"/requests/{request.id}/comments", {"body": "On it"})
    session.rollback()
    replies = {r.to_email: r for r in all_rows(session) if r.kind == "request_reply"}
    assert (replies[AM].language, replies[AM].subject) == ("en", f"Reply on request #{request.id}: Payroll run failed")
    assert replies[CLIENT].language == "zh"
    msgid = "Reply on request #%(id)d: %(subject)s"
    translated = translations("zh").gettext(msgid)
    if translated == msgid:
        pytest.skip("the zh catalog does not translate the reply subject yet")
    assert replies[CLIENT].subject == translated % {"id": request.id, "subject": "Payroll run failed"}


def test_an_escalation_contact_who_is_a_user_is_written_to_in_their_language(session, alpha):
    director = alpha.user(Role.FINANCE)
    director.language = "vi"
    session.add(EscalationContact(account_id=alpha.account.id, level=3, name="Director", email="old@alpha.example",
                                  user_id=director.id))
    request = raise_request(session, alpha)
    request.escalation_level = 2
    service.escalate(session, request, alpha.account, alpha.user(Role.CLIENT_APPROVER), trigger=EscalationTrigger.CLIENT,
                     reason="Still late")
    session.commit()
    rows = {r.to_email: r for r in all_rows(session) if r.kind == "request_escalated"}
    assert rows[director.email].language == "vi"
    assert "l2@alpha.example" not in rows and "old@alpha.example" not in rows


def test_the_resolved_mail_asks_the_client_for_a_rating(session, alpha):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), RequestStatus.RESOLVED)
    session.commit()
    [row] = [r for r in all_rows(session) if r.kind == "request_status"]
    assert row.to_email == CLIENT
    assert row.subject == f"Request #{request.id} is now Resolved"
    assert "Please tell us how we did: you can rate the request on its page." in row.body
    assert f"/requests/{request.id}" in row.body


# --- sending ---------------------------------------------------------------------------


def test_due_messages_are_sent_once_through_the_transport(session, alpha, transport):
    alpha.user(Role.CLIENT_APPROVER).language = "zh"
    request = raise_request(session, alpha)
    _firm_reply(session, alpha, request)
    session.commit()
    now = utcnow()
    assert send_due(session, now=now) == (2, 0)
    assert send_due(session, now=now + timedelta(hours=1)) == (0, 0)

    by_address = {m["To"]: m for m in transport.sent}
    assert set(by_address) == {AM, CLIENT}
    rows = {r.to_email: r for r in all_rows(session)}
    for address, message in by_address.items():
        row = rows[address]
        assert message["Subject"] == row.subject
        assert message["From"] == current_app.config["MAIL_SENDER"]
        assert message.get_content() == row.body
        assert (row.status, row.attempts, row.sent_at) == (NotificationStatus.SENT, 1, now)
    assert by_address[CLIENT]["Subject"] == rows[CLIENT].subject


def test_a_sent_message_carries_the_recipients_language(session, alpha, transport):
    alpha.user(Role.CLIENT_APPROVER).language = "zh"
    request = raise_request(session, alpha)
    _firm_reply(session, alpha, request)
    session.commit()
    send_due(session, now=utcnow())
    assert {m["To"]: m["Content-Language"] for m in transport.sent} == {AM: "en", CLIENT: "zh"}


def test_a_failed_send_is_retried_with_back_off_then_given_up(session, alpha, transport):
    transport.fail_all = True
    raise_request(session, alpha)
    [row] = all_rows(session)
    moment = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert send_due(session, now=moment) == (0, 1)
        session.refresh(row)
        assert row.attempts == attempt
        assert row.last_error == "ConnectionRefusedError: mail server down"
        if attempt < MAX_ATTEMPTS:
            wait = BACKOFF[attempt - 1]
            assert (row.status, row.next_attempt_at) == (NotificationStatus.PENDING, moment + wait)
            # Not tried again before its time.
            assert send_due(session, now=moment + wait - timedelta(seconds=1)) == (0, 0)
            moment += wait
    assert row.status is NotificationStatus.FAILED
    assert send_due(session, now=moment + timedelta(days=30)) == (0, 0)
    assert len(transport.sent) == 0


def test_a_send_that_fails_once_succeeds_on_the_retry(session, alpha, transport):
    transport.fail_all = True
    raise_request(session, alpha)
    moment = utcnow()
    send_due(session, now=moment)
    transport.fail_all = False
    assert send_due(session, now=moment + BACKOFF[0]) == (1, 0)
    [row] = all_rows(session)
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)


def test_one_failing_recipient_does_not_hold_up_the_others(session, alpha, transport):
    transport.failing = {AM}
    request = raise_request(session, alpha)
    _firm_reply(session, alpha, request)
    session.commit()
    assert send_due(session, now=utcnow()) == (1, 1)
    assert [m["To"] for m in transport.sent] == [CLIENT]
    status = {r.to_email: r.status for r in all_rows(session)}
    assert status == {AM: NotificationStatus.PENDING, CLIENT: NotificationStatus.SENT}


def test_the_request_is_kept_when_the_mail_transport_raises(app, client, session, alpha):
    """The request commits in its own transaction; mail is sent later from the outbox,
    so a broken mail server neither fails the request nor loses it."""
    in_request = RecordingTransport(fail_all=True)
    app.extensions["portal_mail_transport"] = in_request
    response = client.post("/api/v1/requests", headers=bearer(api_token(client, CLIENT)),
                           json={"category": "billing", "subject": "Invoice 7", "description": "Wrong VAT"})
    assert response.status_code == 201
    current_app.extensions["portal_mail_transport"] = RecordingTransport(fail_all=True)
    session.rollback()  # see what the request committed
    assert send_due(session, now=utcnow()) == (0, 1)
    session.rollback()
    stored = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.id == response.json["id"]))
    assert stored.subject == "Invoice 7"
    [row] = [r for r in all_rows(session) if r.kind == "request_created"]
    assert (row.status, row.attempts, row.to_email) == (NotificationStatus.PENDING, 1, AM)


def test_smtp_is_used_when_a_mail_server_is_configured(session, alpha, monkeypatch):
    connections = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            self.calls = [("connect", host, port)]
            connections.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.calls.append(("quit",))

        def starttls(self):
            self.calls.append(("starttls",))

        def login(self, username, password):
            self.calls.append(("login", username, password))

        def send_message(self, message):
            self.calls.append(("send", message["To"], message["Subject"]))

    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(current_app.config, "MAIL_SERVER", "smtp.example")
    monkeypatch.setitem(current_app.config, "MAIL_PORT", 2525)
    monkeypatch.setitem(current_app.config, "MAIL_USE_TLS", True)
    monkeypatch.setitem(current_app.config, "MAIL_USERNAME", "portal")
    monkeypatch.setitem(current_app.config, "MAIL_PASSWORD", "s3cret")
    request = raise_request(session, alpha)
    assert send_due(session, now=utcnow()) == (1, 0)
    [smtp] = connections
    assert smtp.calls == [("connect", "smtp.example", 2525), ("starttls",), ("login", "portal", "s3cret"),
                          ("send", AM, f"New request #{request.id} from Account Alpha: Payroll run failed"), ("quit",)]


def test_without_a_mail_server_messages_go_to_the_log(session, alpha, caplog, monkeypatch):
    monkeypatch.setitem(current_app.config, "MAIL_SERVER", None)
    request = raise_request(session, alpha)
    with caplog.at_level(logging.INFO, logger="portal.notifications"):
        assert send_due(session, now=utcnow()) == (1, 0)
    [record] = [r for r in caplog.records if r.name == "portal.notifications"]
    assert AM in record.getMessage()
    assert f"New request #{request.id}" in record.getMessage()
    assert all_rows(session)[0].status is NotificationStatus.SENT


# --- the commands ----------------------------------------------------------------------


def test_mail_send_command_sends_the_outbox(runner, session, alpha, transport):
    """The command runs in the app context that is already pushed (the session's)."""
    raise_request(session, alpha)
    fake = transport
    with outside_any_scope():
        result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 sent, 0 failed (will retry)."
    assert [m["To"] for m in fake.sent] == [AM]


def test_sla_check_command_escalates_each_breach_once_and_notifies(runner, session, alpha):
    weeks_ago = utcnow() - timedelta(days=21)
    late = raise_request(session, alpha, now=weeks_ago)
    paused = raise_request(session, alpha, now=weeks_ago)
    service.change_status(session, paused, alpha.account, alpha.user(Role.ACCOUNT_MANAGER),
                          RequestStatus.WAITING_CLIENT, now=weeks_ago + timedelta(minutes=5))
    session.commit()
    late_id, paused_id = late.id, paused.id
    session.close()  # the command works in this app context, hence in this session
    with outside_any_scope():
        first = runner.invoke(args=["sla", "check"])
        again = runner.invoke(args=["sla", "check"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "2 escalation(s).",
        f"  request #{late_id}: level 1 -> 2 (first_response_breach)",
        f"  request #{late_id}: level 2 -> 3 (resolution_breach)",
    ]
    assert again.output.strip() == "0 escalation(s)."
    levels = dict(session.execute(sa.select(ServiceRequest.id, ServiceRequest.escalation_level)
                                  .where(ServiceRequest.id.in_([late_id, paused_id]))).all())
    assert levels == {late_id: 3, paused_id: 1}
    escalated_to = {r.to_email for r in all_rows(session) if r.kind == "request_escalated"}
    assert "l2@alpha.example" in escalated_to


# --- a real SMTP server (conftest's smtp_server) ------------------------------------------


@pytest.mark.parametrize("subject", ["Payroll\r\nBcc: attacker@evil.example", "Payroll\rrun\nfailed", "Payroll\u2028run"])
def test_a_line_break_in_a_request_subject_never_breaks_the_mail(runner, session, alpha, smtp_server, monkeypatch,
                                                                 subject):
    """A client may type anything into a subject; the account manager is told all the
    same, in one Subject header, and no header can be added through it."""
    from email import message_from_bytes, policy

    inbox, port = smtp_server
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False}.items():
        monkeypatch.setitem(current_app.config, key, value)
    request = raise_request(session, alpha, subject=subject)
    with outside_any_scope():
        result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 sent, 0 failed (will retry)."
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [AM]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    assert message["Bcc"] is None and message["To"] == AM
    words = " ".join(subject.split())
    assert message["Subject"] == f"New request #{request.id} from Account Alpha: {words}"
    assert all_rows(session)[0].status is NotificationStatus.SENT


def test_an_escalation_reaches_the_firms_people_at_the_level_not_the_clients_own_contacts(session, alpha):
    """The matrix has both sides at each level; the client's side is for the client to call."""
    from portal.models import OwnerSide

    session.add(EscalationContact(account_id=alpha.account.id, level=2, side=OwnerSide.CLIENT, name="Their CFO",
                                  email="cfo@client.example"))
    session.commit()
    request = raise_request(session, alpha)
    service.escalate(session, request, alpha.account, alpha.user(Role.CLIENT_APPROVER), trigger=EscalationTrigger.CLIENT,
                     reason="Late")
    session.commit()
    recipients = {r.to_email for r in all_rows(session) if r.kind == "request_escalated"}
    assert "l2@alpha.example" in recipients and "cfo@client.example" not in recipients
