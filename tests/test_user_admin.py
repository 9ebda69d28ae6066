"""The admin edits users (name, role, language, time zone, accounts); users edit their own
name, language and time zone."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Role, User, account_members
from tests.helpers import latest, signed_in


def edit(browser, user_id: int, **fields):
    data = {"name": "Renamed", "role": "client_viewer", "language": "en", "timezone": "UTC", "accounts": [], **fields}
    return browser.post_form(f"/admin/users/{user_id}", data, page=f"/admin/users/{user_id}")


def stored(session, user_id: int) -> User:
    return latest(session).scalar(sa.select(User).where(User.id == user_id))


def assigned(session, user_id: int) -> set[int]:
    """The accounts a firm user works on, as the database holds them."""
    return set(latest(session).scalars(sa.select(account_members.c.account_id)
                                       .where(account_members.c.user_id == user_id)))


def test_the_admin_changes_a_client_users_name_role_language_and_time_zone(session, worlds, admin, new_browser):
    alpha, _bravo = worlds
    viewer = alpha.user(Role.CLIENT_VIEWER)
    browser = signed_in(new_browser, admin.email)
    page = browser.get(f"/admin/users/{viewer.id}").text
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', page) == ["/admin/users"]
    response = edit(browser, viewer.id, name="Vân Nguyễn", role="client_approver", language="vi",
                    timezone="Asia/Ho_Chi_Minh", accounts=[str(alpha.account.id)])
    assert response.status_code == 302
    user = stored(session, viewer.id)
    assert (user.name, user.role, user.language, user.timezone, user.account_id) == (
        "Vân Nguyễn", Role.CLIENT_APPROVER, "vi", "Asia/Ho_Chi_Minh", alpha.account.id)
    event = latest(session).scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.updated")).one()
    assert event.data["role"] == ["client_viewer", "client_approver"]


def test_the_admin_moves_a_firm_user_between_accounts_and_makes_a_client_user_of_one(session, worlds, admin,
                                                                                    new_browser):
    alpha, bravo = worlds
    finance = alpha.user(Role.FINANCE)
    browser = signed_in(new_browser, admin.email)
    ids = alpha.account.id, bravo.account.id
    edit(browser, finance.id, role="finance", accounts=[str(i) for i in ids])
    assert assigned(session, finance.id) == set(ids)
    edit(browser, finance.id, role="finance", accounts=[str(ids[1])])
    assert assigned(session, finance.id) == {ids[1]}
    edit(browser, finance.id, role="client_viewer", accounts=[str(ids[1])])
    user = stored(session, finance.id)
    assert (user.role, user.account_id, assigned(session, finance.id)) == (Role.CLIENT_VIEWER, ids[1], set())


@pytest.mark.parametrize(("fields", "problem"), [
    ({"role": "client_viewer", "accounts": []}, "A client user belongs to an account."),
    ({"role": "client_viewer", "accounts": ["alpha", "bravo"]}, "A client user belongs to an account."),
    ({"timezone": "Mars/Olympus"}, "Unknown time zone."),
], ids=["no-account", "two-accounts", "time-zone"])
def test_what_the_admin_may_not_save_is_shown_again(session, worlds, admin, new_browser, fields, problem):
    alpha, bravo = worlds
    ids = {"alpha": str(alpha.account.id), "bravo": str(bravo.account.id)}
    fields = {**fields, "accounts": [ids[a] for a in fields.get("accounts", ["alpha"])]}
    viewer = alpha.user(Role.CLIENT_VIEWER)
    response = edit(signed_in(new_browser, admin.email), viewer.id, **fields)
    assert response.status_code == 200 and problem in response.text
    assert stored(session, viewer.id).name == viewer.name


def test_an_admin_cannot_change_their_own_role(session, admin, new_browser):
    response = edit(signed_in(new_browser, admin.email), admin.id, role="finance")
    assert "You cannot change your own role." in response.text
    assert stored(session, admin.id).role is Role.ADMIN


def test_only_the_admin_edits_users(session, alpha, new_browser):
    manager = signed_in(new_browser, alpha.user(Role.ACCOUNT_MANAGER).email)
    viewer = alpha.user(Role.CLIENT_VIEWER)
    assert manager.get(f"/admin/users/{viewer.id}").status_code == 403
    assert edit(manager, viewer.id, name="Hijacked").status_code == 403
    assert stored(session, viewer.id).name == viewer.name


def test_users_change_their_own_name_language_and_time_zone(session, alpha, new_browser):
    viewer = alpha.user(Role.CLIENT_VIEWER)
    browser = signed_in(new_browser, viewer.email)
    response = browser.post_form("/account", {"pref-name": "Lan Trần", "pref-language": "vi",
                                              "pref-timezone": "Asia/Ho_Chi_Minh", "pref-submit": "Save"})
    assert response.status_code == 302
    user = stored(session, viewer.id)
    assert (user.name, user.language, user.timezone, user.role) == ("Lan Trần", "vi", "Asia/Ho_Chi_Minh",
                                                                     Role.CLIENT_VIEWER)
    assert "Lan Trần" in browser.get("/").text


def test_an_admin_cannot_disable_themselves(session, admin, new_browser):
    browser = signed_in(new_browser, admin.email)
    response = browser.post_form(f"/admin/users/{admin.id}/active", page="/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/users")
    assert "You cannot disable your own account." in browser.get("/admin/users").text
    assert stored(session, admin.id).active
    assert latest(session).scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.disabled")).all() == []


def test_a_disabled_user_enabled_again_signs_in_again(session, alpha, admin, new_browser):
    viewer = alpha.user(Role.CLIENT_VIEWER)
    browser = signed_in(new_browser, admin.email)
    toggle = f"/admin/users/{viewer.id}/active"
    assert browser.post_form(toggle, page="/admin/users").status_code == 302
    assert not stored(session, viewer.id).active
    assert new_browser().login(viewer.email).status_code != 302  # refused while disabled
    assert browser.post_form(toggle, page="/admin/users").status_code == 302
    assert stored(session, viewer.id).active
    again = new_browser()
    assert again.login(viewer.email).status_code == 302
    assert again.client.get("/").status_code == 200
    actions = latest(session).scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == viewer.id,
                                                                         AuditEvent.action.like("user.%abled"))).all()
    assert actions == ["user.disabled", "user.enabled"]
