"""Invitations: who may invite whom, the e-mail in the invitee's language (read back from
a real SMTP server), the single-use link that expires after 72 hours and whose token the
database never holds, resending and withdrawing, the API and the command line."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.domain import DomainError
from portal.models import Notification, OneTimeLink, Role, User
from portal.models.base import utcnow
from portal.users import service
from tests.conftest import Browser, csrf_token
from tests.helpers import assert_error, latest, mailed_link, signed_in, translated

NEW_PASSWORD = "a long and quiet river"


def invite(session, inviter, email="new.user@alpha.example", role=Role.CLIENT_VIEWER, account=None, **kwargs):
    user = service.invite_user(session, inviter, email=email, name=kwargs.pop("name", "New User"), role=role,
                               account=account, **kwargs)
    session.commit()
    return user


def invitation_of(mailbox, email: str):
    """The invitation ``email`` received: (the message, the path of its link)."""
    [message] = [m for m in mailbox.deliver() if m["To"] == email]
    return message, mailed_link(message)


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token(page.text)})


def invite_on_page(browser, url: str, email: str, role: str, account_id: int, **fields):
    """Send the invitation form of ``url`` (the users page, or the admin's)."""
    return browser.post_form(url, {"email": email, "name": email.split("@")[0].title(), "role": role,
                                   "account": account_id, "language": "en", "timezone": "",
                                   "once": f"once-token-{email}", **fields}, page=url)


def is_signed_in_as(client, email: str) -> bool:
    response = client.get("/account")
    return response.status_code == 200 and email in response.text


def link_row(session, email: str) -> OneTimeLink:
    return latest(session).scalars(sa.select(OneTimeLink).join(User, User.id == OneTimeLink.user_id)
                                   .where(User.email == email).order_by(OneTimeLink.id.desc())).first()


# --- who may invite whom -------------------------------------------------------------------


@pytest.mark.parametrize(("inviter_role", "role", "own_account", "allowed"), [
    ("admin", Role.FINANCE, False, True),
    ("admin", Role.CLIENT_APPROVER, True, True),
    (Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER, True, True),
    (Role.ACCOUNT_MANAGER, Role.CLIENT_VIEWER, False, False),
    (Role.ACCOUNT_MANAGER, Role.FINANCE, False, False),
    (Role.CLIENT_APPROVER, Role.CLIENT_VIEWER, True, True),
    (Role.CLIENT_APPROVER, Role.CLIENT_APPROVER, True, False),
    (Role.CLIENT_APPROVER, Role.CLIENT_VIEWER, False, False),
    (Role.CLIENT_VIEWER, Role.CLIENT_VIEWER, True, False),
    (Role.FINANCE, Role.CLIENT_VIEWER, True, False),
], ids=lambda v: getattr(v, "value", str(v)))
def test_who_may_invite_whom(session, worlds, admin, inviter_role, role, own_account, allowed):
    alpha, bravo = worlds
    inviter = admin if inviter_role == "admin" else alpha.user(inviter_role)
    account = None if not role.is_client else (alpha if own_account else bravo).account
    if allowed:
        user = invite(session, inviter, role=role, account=account)
        assert (user.role, user.account_id, user.has_password) == (role, account.id if account else None, False)
    else:
        with pytest.raises(DomainError) as refused:
            invite(session, inviter, role=role, account=account)
        assert refused.value.status == 403


def test_an_invited_user_cannot_sign_in_before_choosing_a_password(session, client, alpha, monkeypatch):
    from portal.auth import passwords

    burned = []
    monkeypatch.setattr(passwords, "burn_verification_time", burned.append)
    invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account)
    page = client.get("/login")
    response = client.post("/login", data={"email": "new.user@alpha.example", "password": "",
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 400
    response = client.post("/login", data={"email": "new.user@alpha.example", "password": "anything at all",
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 401
    assert burned == ["anything at all"]  # as long as a real check: no sign of who is still invited


# --- the e-mail and its link -----------------------------------------------------------------


def test_the_invitation_email_is_in_the_invitees_language_and_its_link_sets_the_password_and_signs_in(
        session, client, alpha, mailbox):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    invite(session, manager, email="li.na@alpha.example", role=Role.CLIENT_APPROVER, account=alpha.account,
           name="李娜", language="zh")
    message, path = invitation_of(mailbox, "li.na@alpha.example")
    assert message["Subject"] == translated("zh", "%(inviter)s invited you to the client portal") % {
        "inviter": manager.name}
    assert message["Content-Language"] == "zh"
    assert "李娜" in message.get_content()
    assert path.startswith("/invitation/")

    page = client.get(path)
    assert page.status_code == 200
    assert translated("zh", "Welcome to the client portal") in page.text  # the page speaks the invitee's language
    response = set_password(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert is_signed_in_as(client, "li.na@alpha.example")
    fresh = Browser(client.application.test_client())
    assert fresh.login("li.na@alpha.example", NEW_PASSWORD).status_code == 302


def test_neither_the_outbox_nor_the_links_table_holds_a_token_that_works(session, client, alpha, mailbox):
    invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account)
    queued = latest(session).scalars(sa.select(Notification).where(Notification.kind == "invitation")).one()
    assert "/invitation/" not in queued.body
    assert link_row(session, "new.user@alpha.example").token_hash is None  # no token before the e-mail is sent

    message, path = invitation_of(mailbox, "new.user@alpha.example")
    token = path.rsplit("/", 1)[1]
    stored = link_row(session, "new.user@alpha.example")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    sent = latest(session).scalars(sa.select(Notification).where(Notification.kind == "invitation")).one()
    assert token not in sent.body


def test_a_name_cannot_smuggle_someone_elses_link_into_an_invitation(session, alpha, mailbox):
    """The mark of a link is taken out of every value: only the template places links."""
    first = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account, email="first@alpha.example")
    first_link = link_row(session, first.email)
    invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account, email="second@alpha.example",
           name=f"Eve \ue001{first_link.id}\ue001")
    queued = latest(session).scalars(sa.select(Notification.body).where(Notification.to_email == "second@alpha.example"))
    assert f"\ue001{first_link.id}\ue001" not in queued.one()
    messages = {m["To"]: m.get_content() for m in mailbox.deliver()}
    assert messages["second@alpha.example"].count("/invitation/") == 1
    assert latest(session).scalar(sa.select(OneTimeLink.token_hash).where(OneTimeLink.id == first_link.id))


def test_the_outbox_makes_a_link_only_for_its_own_recipient(session, alpha):
    from portal.users.links import url_for_sending

    first = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account, email="first@alpha.example")
    link_id = link_row(session, first.email).id
    assert url_for_sending(session, link_id, alpha.user(Role.CLIENT_VIEWER).id) == ""
    assert url_for_sending(session, link_id, first.id).startswith("http://127.0.0.1:5000/invitation/")


@pytest.mark.parametrize("reason", ["reused", "expired", "tampered", "disabled", "withdrawn", "replaced"])
def test_a_link_that_cannot_be_used_gets_a_clear_page_in_the_invitees_language(session, client, new_browser, alpha,
                                                                                 mailbox, reason):
    user = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account, language="vi")
    _message, path = invitation_of(mailbox, user.email)
    expected = {
        "reused": (410, "This invitation was accepted already: sign in with your password."),
        "expired": (410, "This invitation has expired. Ask the person who invited you to send it again."),
        "tampered": (404, "This link is not valid. Open it straight from the e-mail, or copy the whole link into "
                          "the address bar."),
        "disabled": (403, "This user is disabled. Ask your administrator to enable it."),
        "withdrawn": (410, "This invitation was withdrawn or replaced by a newer one. Use the latest invitation you "
                           "received, or ask for a new one."),
        "replaced": (410, "This invitation was withdrawn or replaced by a newer one. Use the latest invitation you "
                          "received, or ask for a new one."),
    }[reason]
    if reason == "reused":
        assert set_password(new_browser().client, path).status_code == 302
    elif reason == "expired":
        latest(session).execute(sa.update(OneTimeLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    elif reason == "tampered":
        path = path[:-1] + ("A" if path[-1] != "A" else "B")
    elif reason == "disabled":
        latest(session).execute(sa.update(User).where(User.id == user.id).values(active=False))
    elif reason == "withdrawn":
        service.revoke_invitation(session, latest(session).get(User, user.id), alpha.user(Role.ACCOUNT_MANAGER))
    elif reason == "replaced":
        service.resend_invitation(session, latest(session).get(User, user.id), alpha.user(Role.ACCOUNT_MANAGER))
    session.commit()

    client.post("/language", data={"language": "vi", "csrf_token": csrf_token(client.get("/login").text)})
    for method in ("GET", "POST"):
        response = client.open(path, method=method, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                                          "csrf_token": csrf_token(client.get("/login").text)})
        assert response.status_code == expected[0], (method, response.text)
        assert translated("vi", "This link cannot be used") in response.text
        assert translated("vi", expected[1]) in response.text
        assert 'name="password"' not in response.text
    assert not is_signed_in_as(client, user.email)


def test_an_invitation_expires_after_72_hours(session, alpha):
    before = utcnow()
    user = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account)
    expires_at = link_row(session, user.email).expires_at
    assert before + timedelta(hours=72) <= expires_at <= utcnow() + timedelta(hours=72)


@pytest.mark.parametrize(("password", "confirm", "problem"), [
    ("short", "short", "Use at least 8 characters."),
    ("password123", "password123", "This password is too common. Choose a less guessable one."),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords differ."),
])
def test_the_chosen_password_meets_the_policy_and_the_link_still_works_after_a_refusal(
        session, client, alpha, mailbox, password, confirm, problem):
    user = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account)
    _message, path = invitation_of(mailbox, user.email)
    refused = set_password(client, path, password, confirm)
    assert refused.status_code == 200
    assert problem in refused.text
    assert not is_signed_in_as(client, user.email)
    assert set_password(client, path).status_code == 302


def test_the_link_page_is_never_cached_and_needs_the_csrf_token(session, client, alpha, mailbox):
    user = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account)
    _message, path = invitation_of(mailbox, user.email)
    assert client.get(path).headers["Cache-Control"] == "no-store"
    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert link_row(session, user.email).used_at is None


# --- resending and withdrawing, on the pages ------------------------------------------------------


def test_an_account_manager_invites_resends_and_withdraws_on_the_users_page(session, new_browser, alpha, bravo,
                                                                          mailbox):
    manager = signed_in(new_browser, alpha.user(Role.ACCOUNT_MANAGER).email)
    page = manager.get("/users")
    assert page.status_code == 200
    assert alpha.user(Role.CLIENT_VIEWER).email in page.text
    assert bravo.user(Role.CLIENT_VIEWER).email not in page.text
    assert 'value="finance"' not in page.text  # only the roles it may invite are offered
    response = invite_on_page(manager, "/users", "Ana@Alpha.example", "client_viewer", alpha.account.id)
    assert response.status_code == 302
    user = latest(session).scalar(sa.select(User).where(User.email == "ana@alpha.example"))
    assert user.timezone == alpha.account.timezone
    _message, first = invitation_of(mailbox, "ana@alpha.example")

    assert manager.post_form(f"/users/{user.id}/invitation/resend", page="/users").status_code == 302
    _message, second = invitation_of(mailbox, "ana@alpha.example")
    assert first != second
    assert new_browser().client.get(first).status_code == 410
    assert "Invited" in manager.get("/users").text

    assert manager.post_form(f"/users/{user.id}/invitation/revoke", page="/users").status_code == 302
    assert new_browser().client.get(second).status_code == 410
    assert "Invitation withdrawn" in manager.get("/users").text


def test_another_accounts_user_answers_404_and_an_accepted_invitation_cannot_be_resent(session, new_browser, worlds,
                                                                                      admin):
    alpha, bravo = worlds
    manager = signed_in(new_browser, alpha.user(Role.ACCOUNT_MANAGER).email)
    assert manager.post_form(f"/users/{bravo.user(Role.CLIENT_VIEWER).id}/invitation/resend").status_code == 404
    response = manager.post_form(f"/users/{alpha.user(Role.CLIENT_VIEWER).id}/invitation/resend", page="/users",
                                 follow_redirects=True)
    assert "has accepted the invitation already" in response.text


def test_a_client_approver_invites_viewers_of_its_own_account_only(session, new_browser, alpha, mailbox):
    approver = signed_in(new_browser, alpha.user(Role.CLIENT_APPROVER).email)
    page = approver.get("/users").text
    assert 'value="client_viewer"' in page and 'value="client_approver"' not in page
    response = invite_on_page(approver, "/users", "viewer2@alpha.example", "client_approver", alpha.account.id)
    assert response.status_code == 200  # shown again: the role is not one it may choose
    assert latest(session).scalar(sa.select(User).where(User.email == "viewer2@alpha.example")) is None


def test_a_client_approver_may_not_resend_or_withdraw_an_approvers_invitation(session, new_browser, alpha):
    invited = invite(session, alpha.user(Role.ACCOUNT_MANAGER), account=alpha.account, role=Role.CLIENT_APPROVER)
    approver = signed_in(new_browser, alpha.user(Role.CLIENT_APPROVER).email)
    assert f"/users/{invited.id}/invitation/resend" not in approver.get("/users").text
    for action in ("resend", "revoke"):
        refused = approver.post_form(f"/users/{invited.id}/invitation/{action}", page="/users", follow_redirects=True)
        assert "You may not invite a user with this role to this account." in refused.text
    assert link_row(session, invited.email).revoked_at is None


def test_the_admin_invites_a_firm_user_who_then_works_on_the_account(session, new_browser, alpha, admin, mailbox):
    browser = signed_in(new_browser, admin.email)
    response = invite_on_page(browser, "/admin/users", "fin2@firm.example", "finance", alpha.account.id,
                              timezone="Asia/Singapore")
    assert response.status_code == 302
    user = latest(session).scalar(sa.select(User).where(User.email == "fin2@firm.example"))
    assert (user.account_id, user.account_ids, user.timezone) == (None, frozenset({alpha.account.id}), "Asia/Singapore")
    _message, path = invitation_of(mailbox, "fin2@firm.example")
    assert "Invited" in browser.get("/admin/users").text


# --- the API ------------------------------------------------------------------------------------------


def test_get_users_lists_what_each_caller_may_see(session, client, auth, worlds, admin):
    alpha, bravo = worlds
    everyone = client.get("/api/v1/users?limit=200", headers=auth(admin.email)).json["items"]
    assert {u["email"] for u in everyone} >= {admin.email, bravo.user(Role.CLIENT_VIEWER).email}
    assert set(everyone[0]) == {"id", "email", "name", "role", "account_id", "language", "active"}
    for role in (Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER):
        seen = client.get("/api/v1/users", headers=auth(alpha.user(role).email)).json["items"]
        assert {u["email"] for u in seen} == {alpha.user(Role.CLIENT_VIEWER).email, alpha.user(Role.CLIENT_APPROVER).email}
        assert {u["account_id"] for u in seen} == {alpha.account.id}
    for role in (Role.CLIENT_VIEWER, Role.FINANCE, Role.REGIONAL_REVIEWER):
        assert_error(client.get("/api/v1/users", headers=auth(alpha.user(role).email)), 403)


def test_post_users_invites_and_sends_the_invitation(session, client, auth, alpha, mailbox):
    response = client.post("/api/v1/users", headers=auth(alpha.user(Role.CLIENT_APPROVER).email),
                           json={"email": "api.viewer@alpha.example", "name": "Api Viewer", "role": "client_viewer",
                                 "language": "vi"})
    assert response.status_code == 201, response.text
    assert response.json == {"id": response.json["id"], "email": "api.viewer@alpha.example", "name": "Api Viewer",
                             "role": "client_viewer", "account_id": alpha.account.id, "language": "vi",
                             "active": True}
    message, path = invitation_of(mailbox, "api.viewer@alpha.example")
    assert message["Content-Language"] == "vi"
    assert set_password(client, path).status_code == 302


@pytest.mark.parametrize(("who", "body", "status"), [
    (Role.ACCOUNT_MANAGER, {"role": "finance"}, 403),
    (Role.ACCOUNT_MANAGER, {"role": "client_viewer", "account_id": "bravo"}, 404),
    (Role.ACCOUNT_MANAGER, {"role": "client_viewer"}, 403),
    (Role.CLIENT_APPROVER, {"role": "client_approver"}, 403),
    (Role.ACCOUNT_MANAGER, {"role": "client_viewer", "account_id": "alpha", "language": "fr"}, 422),
    (Role.ACCOUNT_MANAGER, {"role": "client_viewer", "account_id": "alpha", "timezone": "Mars/Base"}, 422),
    (Role.ACCOUNT_MANAGER, {"role": "client_viewer", "account_id": "alpha", "email": "client.viewer@alpha.example"},
     422),
], ids=["firm-role", "other-account", "no-account", "approver-invites-approver", "language", "timezone", "taken"])
def test_post_users_refuses_what_the_caller_may_not_do(session, client, auth, worlds, who, body, status):
    alpha, bravo = worlds
    ids = {"alpha": alpha.account.id, "bravo": bravo.account.id}
    payload = {"email": "someone@alpha.example", "name": "Someone", "language": "en", **body}
    if "account_id" in payload:
        payload["account_id"] = ids[payload["account_id"]]
    assert_error(client.post("/api/v1/users", headers=auth(alpha.user(who).email), json=payload), status)
    assert latest(session).scalar(sa.select(User).where(User.email == "someone@alpha.example")) is None


# --- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["name", "id"])
def test_users_invite_command_queues_the_invitation(runner, session, alpha, mailbox, by):
    account = alpha.account.name if by == "name" else str(alpha.account.id)
    result = runner.invoke(args=["users", "invite", "cli.user@alpha.example", "--role", "client_approver",
                                 "--account", account, "--name", "Cli User"])
    assert result.exit_code == 0, result.output
    assert "Invited client_approver cli.user@alpha.example" in result.output
    message, path = invitation_of(mailbox, "cli.user@alpha.example")
    assert "Meridian Business Services Ltd" in message["Subject"]
    user = latest(session).scalar(sa.select(User).where(User.email == "cli.user@alpha.example"))
    assert (user.name, user.account_id, user.has_password) == ("Cli User", alpha.account.id, False)


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "client_viewer"], "account: A client user belongs to an account."),
    (["--role", "client_viewer", "--account", "Nowhere Ltd"], "no account with the id or name 'Nowhere Ltd'"),
])
def test_users_invite_command_explains_what_is_wrong(runner, session, alpha, args, message):
    result = runner.invoke(args=["users", "invite", "x@alpha.example", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(OneTimeLink)) == 0
