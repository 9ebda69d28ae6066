"""The people around an account, as services: the firm's team on it (scoping and
notifications follow it at once), the escalation matrix (sides, titles per language,
contacts who are portal users), the client's stakeholders and the interaction log with
its follow-up actions, each change an audit event; and the firm-only policy that keeps
stakeholders and interactions from every statement of a client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts import account_managers, team
from portal.domain import DomainError
from portal.models import (
    ActionItem,
    ActionSource,
    DecisionRole,
    EscalationContact,
    EscalationTrigger,
    Interaction,
    InteractionAttendee,
    InteractionKind,
    OwnerSide,
    Role,
    Stakeholder,
)
from portal.people import service
from portal.people.service import ContactInput, FollowUp, InteractionDetails, StakeholderDetails, TeamMember
from portal.security import Scope, scoped_to
from portal.service_requests.service import escalate
from tests.factories import make_user, raise_request
from tests.helpers import audit_events, manager_of, notifications, today_of


def members(world) -> list[TeamMember]:
    """``world``'s team as it is built: its account manager, regional reviewer and finance user."""
    return [TeamMember(world.user(role).id, role) for role in (Role.ACCOUNT_MANAGER, Role.REGIONAL_REVIEWER, Role.FINANCE)]


# --- the team ----------------------------------------------------------------------------


def test_the_admin_replaces_the_team_and_the_audit_event_holds_it_before_and_after(session, alpha, admin):
    newcomer = make_user(session, "am2@firm.example", Role.ACCOUNT_MANAGER)
    finance = alpha.user(Role.FINANCE)
    result = service.set_team(session, alpha.account, admin, [TeamMember(newcomer.id, Role.ACCOUNT_MANAGER),
                                                               TeamMember(finance.id, Role.FINANCE)])
    session.commit()
    assert [u.email for u in result] == ["am2@firm.example", "finance@alpha.example"]
    assert team(session, alpha.account) == result
    [event] = audit_events(session, "account.team_changed")
    assert event.account_id == alpha.account.id and event.actor_id == admin.id
    assert [m["email"] for m in event.data["before"]] == [
        "account.manager@alpha.example", "regional.reviewer@alpha.example", "finance@alpha.example"]
    assert event.data["after"] == [{"user_id": newcomer.id, "email": "am2@firm.example", "role": "account_manager"},
                                   {"user_id": finance.id, "email": "finance@alpha.example", "role": "finance"}]


def test_the_same_team_again_changes_nothing_and_records_nothing(session, alpha, admin):
    service.set_team(session, alpha.account, admin, members(alpha))
    assert audit_events(session, "account.team_changed") == []


def test_a_member_in_another_role_than_their_own_is_refused_naming_the_row(session, alpha, admin):
    finance = alpha.user(Role.FINANCE)
    with pytest.raises(DomainError) as refused:
        service.set_team(session, alpha.account, admin, [*members(alpha)[:2], TeamMember(finance.id, Role.ACCOUNT_MANAGER)])
    assert refused.value.status == 422
    assert refused.value.fields == {"members.2.role": "not the user's role (finance)"}
    assert str(refused.value.message) == (
        "Finance is “Finance”, not “Account manager”: each member joins the team in the role they have.")


@pytest.mark.parametrize("user_id, problem", [(987654, "no such user"), ("twice", "listed twice")])
def test_an_unknown_or_repeated_member_is_refused(session, alpha, admin, user_id, problem):
    am = alpha.user(Role.ACCOUNT_MANAGER)
    listed = [TeamMember(am.id, Role.ACCOUNT_MANAGER), TeamMember(am.id if user_id == "twice" else user_id, Role.ACCOUNT_MANAGER)]
    with pytest.raises(DomainError) as refused:
        service.set_team(session, alpha.account, admin, listed)
    assert refused.value.fields == {"members.1.user_id": problem}


def test_only_the_admin_names_the_team(session, alpha):
    with pytest.raises(DomainError) as refused:
        service.set_team(session, alpha.account, manager_of(alpha), members(alpha))
    assert refused.value.status == 403


def test_scoping_follows_the_team_at_once_even_for_a_user_loaded_before(session, alpha, admin):
    """``User.account_ids`` is cached on the instance: the change must not leave it stale."""
    newcomer = make_user(session, "am2@firm.example", Role.ACCOUNT_MANAGER)
    old = manager_of(alpha)
    assert alpha.account.id not in newcomer.account_ids and alpha.account.id in old.account_ids
    service.set_team(session, alpha.account, admin, [TeamMember(newcomer.id, Role.ACCOUNT_MANAGER)])
    assert alpha.account.id in newcomer.account_ids
    assert alpha.account.id not in old.account_ids


def test_notifications_follow_the_team_and_a_newcomer_is_told(session, alpha, admin):
    newcomer = make_user(session, "am2@firm.example", Role.ACCOUNT_MANAGER, language="zh")
    service.set_team(session, alpha.account, admin, [TeamMember(newcomer.id, Role.ACCOUNT_MANAGER)])
    session.commit()
    [welcome] = notifications(session, "team_joined")
    assert welcome.to_email == "am2@firm.example" and welcome.language == "zh"
    assert "Account Alpha" in welcome.subject and welcome.subject != "You are on the team of Account Alpha"
    assert account_managers(session, alpha.account) == [newcomer]
    raise_request(session, alpha)
    assert [n.to_email for n in notifications(session, "request_created")] == ["am2@firm.example"]


# --- the escalation matrix -----------------------------------------------------------------


def contact(level=1, side=OwnerSide.FIRM, name="Mei Chen", email="mei.chen@firm.example", **more) -> ContactInput:
    return ContactInput(level=level, side=side, name=name, email=email, **more)


def matrix_of(session, world) -> list[tuple]:
    rows = session.scalars(sa.select(EscalationContact).where(EscalationContact.account_id == world.account.id)
                           .order_by(EscalationContact.level, EscalationContact.id))
    return [(c.level, c.side.value, c.name, c.title, c.email, c.phone) for c in rows]


def test_the_account_manager_replaces_the_matrix_with_both_sides_and_titles_per_language(session, alpha):
    result = service.replace_escalation_matrix(session, alpha.account, manager_of(alpha), [
        contact(3, OwnerSide.CLIENT, "Wang Fang", "wang.fang@alpha.example", title={"en": "CFO", "zh": " 财务总监 "},
                phone="+86 755 1234"),
        contact(1, title="Service Delivery Manager"),
    ])
    session.commit()
    assert [c.level for c in result] == [1, 3]
    assert matrix_of(session, alpha) == [
        (1, "firm", "Mei Chen", {"en": "Service Delivery Manager"}, "mei.chen@firm.example", ""),
        (3, "client", "Wang Fang", {"en": "CFO", "zh": "财务总监"}, "wang.fang@alpha.example", "+86 755 1234"),
    ]
    [event] = audit_events(session, "account.escalation_matrix_changed")
    assert event.data["before"] == [{"level": 1, "side": "firm", "name": "Level One", "title": {},
                                     "email": "l1@alpha.example", "phone": ""}]
    assert [c["name"] for c in event.data["after"]] == ["Mei Chen", "Wang Fang"]
    assert event.data["after"][1]["title"] == {"en": "CFO", "zh": "财务总监"}


def test_the_same_matrix_again_records_nothing(session, alpha):
    service.replace_escalation_matrix(session, alpha.account, manager_of(alpha),
                                      [contact(1, name="Level One", email="l1@alpha.example")])
    assert audit_events(session, "account.escalation_matrix_changed") == []


def test_each_bad_contact_is_named_by_its_row(session, alpha):
    with pytest.raises(DomainError) as refused:
        service.replace_escalation_matrix(session, alpha.account, manager_of(alpha), [
            contact(), contact(level=4, name=" ", email="not-an-address"), contact(title={"vi": "x" * 201})])
    assert refused.value.fields == {"contacts.1.level": "1 to 3", "contacts.1.name": "required",
                                    "contacts.1.email": "not an e-mail address",
                                    "contacts.2.title_vi": "at most 200 characters"}


@pytest.mark.parametrize("role", [Role.FINANCE, Role.REGIONAL_REVIEWER, Role.CLIENT_APPROVER])
def test_only_the_admin_and_the_account_managers_keep_the_matrix(session, alpha, role):
    with pytest.raises(DomainError) as refused:
        service.replace_escalation_matrix(session, alpha.account, alpha.user(role), [contact()])
    assert refused.value.status == 403


def test_an_account_manager_of_another_account_may_not_keep_this_matrix(session, alpha, bravo, admin):
    assert service.can_edit_matrix(admin, alpha.account) and service.can_edit_matrix(manager_of(alpha), alpha.account)
    assert not service.can_edit_matrix(manager_of(bravo), alpha.account)


def test_a_contact_who_is_a_portal_user_is_escalated_to_in_their_language(session, alpha):
    """The firm's side matches firm users, the client's the account's own users."""
    reviewer = alpha.user(Role.REGIONAL_REVIEWER)
    reviewer.language = "zh"
    approver = alpha.user(Role.CLIENT_APPROVER)
    matrix = service.replace_escalation_matrix(session, alpha.account, manager_of(alpha), [
        contact(2, email=reviewer.email.upper()), contact(2, OwnerSide.CLIENT, email=approver.email),
        contact(2, OwnerSide.CLIENT, email=reviewer.email), contact(2, email=approver.email)])
    assert [c.user_id for c in matrix] == [reviewer.id, approver.id, None, None]
    request = raise_request(session, alpha, by=alpha.user(Role.CLIENT_VIEWER))
    escalate(session, request, alpha.account, None, trigger=EscalationTrigger.FIRST_RESPONSE_BREACH)
    session.commit()
    sent = {n.to_email: n.language for n in notifications(session, "request_escalated")}
    assert sent[reviewer.email] == "zh"


def test_a_title_given_as_plain_text_is_the_english_one(session, alpha):
    """Seeding and older callers give a title as text."""
    row = EscalationContact(account_id=alpha.account.id, level=2, name="Jo", email="jo@firm.example", title="Director")
    assert row.title == {"en": "Director"}
    assert EscalationContact(account_id=alpha.account.id, level=2, name="Jo", email="jo@firm.example", title="").title == {}


# --- stakeholders ---------------------------------------------------------------------------


def details(**more) -> StakeholderDetails:
    return StakeholderDetails(**{"name": "Wang Fang", "decision_role": DecisionRole.DECISION_MAKER, "title": "CFO",
                                 "language": "zh", "email": "wang.fang@alpha.example", "phone": "+86 755 1234",
                                 "notes": "Prefers WeChat; signs off every CR above 50k.", **more})


def test_a_firm_user_of_the_account_adds_and_edits_a_stakeholder(session, alpha):
    finance = alpha.user(Role.FINANCE)
    added = service.add_stakeholder(session, alpha.account, finance, details(owner=manager_of(alpha)))
    service.edit_stakeholder(session, added, alpha.account, finance,
                             details(decision_role=DecisionRole.APPROVER, notes="Now approves only.", owner=None))
    session.commit()
    assert (added.name, added.decision_role, added.language, added.owner_id, added.notes) == (
        "Wang Fang", DecisionRole.APPROVER, "zh", None, "Now approves only.")
    assert audit_events(session, "stakeholder.added")[0].data == {"name": "Wang Fang"}
    assert audit_events(session, "stakeholder.updated")[0].data == {"changed": ["decision_role", "notes", "owner_id"]}


@pytest.mark.parametrize("change, problem", [
    ({"name": " "}, {"name": "required"}),
    ({"email": "wang.fang"}, {"email": "not an e-mail address"}),
    ({"language": "fr"}, {"language": "not a language of the portal"}),
])
def test_a_stakeholder_without_a_name_or_with_a_bad_address_is_refused(session, alpha, change, problem):
    with pytest.raises(DomainError) as refused:
        service.add_stakeholder(session, alpha.account, manager_of(alpha), details(**change))
    assert refused.value.fields == problem


def test_the_relationship_owner_is_one_of_the_firms_people_on_the_account(session, alpha, bravo, admin):
    service.add_stakeholder(session, alpha.account, admin, details(owner=admin))
    for outsider in (manager_of(bravo), alpha.user(Role.CLIENT_APPROVER)):
        with pytest.raises(DomainError) as refused:
            service.add_stakeholder(session, alpha.account, admin, details(owner=outsider))
        assert refused.value.fields == {"owner_id": "not a firm user of this account"}


def test_a_client_user_keeps_no_stakeholders(session, alpha):
    with pytest.raises(DomainError) as refused:
        service.add_stakeholder(session, alpha.account, alpha.user(Role.CLIENT_APPROVER), details())
    assert refused.value.status == 403


def test_stakeholders_are_listed_decision_makers_first(session, alpha):
    am = manager_of(alpha)
    for name, role in (("Ann", DecisionRole.USER), ("Bo", DecisionRole.APPROVER), ("Cy", DecisionRole.DECISION_MAKER)):
        service.add_stakeholder(session, alpha.account, am, details(name=name, decision_role=role))
    assert [s.name for s in service.stakeholders(session, alpha.account)] == [
        "Cy", "Stakeholder of Alpha", "Bo", "Ann"]


# --- interactions -------------------------------------------------------------------------------


def meeting(world, **more) -> InteractionDetails:
    return InteractionDetails(**{"kind": InteractionKind.MEETING, "occurred_on": today_of(world) - timedelta(days=2),
                                 "subject": "Account set-up meeting", "summary": "Agreed the cut-off dates.",
                                 "firm_attendees": [manager_of(world)], "stakeholders": [world["stakeholder"]],
                                 "other_attendees": ["Li Na (payroll vendor)", " "], **more})


def test_an_interaction_is_logged_with_its_attendees_and_raises_follow_ups_in_the_registry(session, alpha):
    am, approver = manager_of(alpha), alpha.user(Role.CLIENT_APPROVER)
    due = today_of(alpha) + timedelta(days=10)
    interaction = service.log_interaction(session, alpha.account, am, meeting(alpha), [
        FollowUp("Send the payroll calendar", owner=am, due_date=due),
        FollowUp("Confirm the bank cut-off", owner_side=OwnerSide.CLIENT, owner=approver),
    ])
    session.commit()
    assert [(a.name, a.user_id, a.stakeholder_id) for a in interaction.attendees] == [
        (am.name, am.id, None), ("Stakeholder of Alpha", None, alpha["stakeholder"].id), ("Li Na (payroll vendor)", None, None)]
    items = session.scalars(sa.select(ActionItem).where(ActionItem.interaction_id == interaction.id)
                            .order_by(ActionItem.id)).all()
    assert [(i.title, i.source, i.owner_side, i.owner_id, i.created_by_id) for i in items] == [
        ("Send the payroll calendar", ActionSource.MEETING, OwnerSide.FIRM, am.id, am.id),
        ("Confirm the bank cut-off", ActionSource.MEETING, OwnerSide.CLIENT, approver.id, am.id)]
    assert items[0].due_date == due and items[1].due_date == today_of(alpha) + timedelta(days=30)
    [event] = audit_events(session, "interaction.logged")
    assert event.data["subject"] == "Account set-up meeting" and event.data["follow_ups"] == 2


def test_a_refused_follow_up_names_its_row_and_keeps_nothing(session, alpha):
    am = manager_of(alpha)
    with pytest.raises(DomainError) as refused:
        service.log_interaction(session, alpha.account, am, meeting(alpha), [
            FollowUp("Fine"), FollowUp("Too late", due_date=today_of(alpha) + timedelta(days=61))])
    assert refused.value.status == 403 and refused.value.fields == {"actions.1.due_date": "more than 60 days after creation"}
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 1  # the factory's


@pytest.mark.parametrize("field", ["subject", "occurred_on", "firm_attendees", "stakeholders"])
def test_an_interaction_in_the_future_or_with_people_of_another_account_is_refused(session, alpha, bravo, admin, field):
    wrong = {"subject": " ", "occurred_on": today_of(alpha) + timedelta(days=1),
             "firm_attendees": [manager_of(bravo)], "stakeholders": [bravo["stakeholder"]]}[field]
    with pytest.raises(DomainError) as refused:
        service.log_interaction(session, alpha.account, admin, meeting(alpha, **{field: wrong}))
    assert list(refused.value.fields) == [field]


def test_editing_an_interaction_replaces_its_attendees_and_adds_follow_ups(session, alpha):
    am = manager_of(alpha)
    interaction = service.log_interaction(session, alpha.account, am, meeting(alpha), [FollowUp("First")])
    service.edit_interaction(session, interaction, alpha.account, alpha.user(Role.FINANCE),
                             meeting(alpha, kind=InteractionKind.CALL, stakeholders=[], other_attendees=[]),
                             [FollowUp("Second")])
    session.commit()
    assert interaction.kind is InteractionKind.CALL
    assert [a.name for a in interaction.attendees] == [am.name]
    assert session.scalar(sa.select(sa.func.count()).select_from(InteractionAttendee)
                          .where(InteractionAttendee.interaction_id == interaction.id)) == 1
    session.expire(interaction)
    assert [i.title for i in interaction.follow_ups] == ["First", "Second"]
    [event] = audit_events(session, "interaction.updated")
    assert event.data["before"]["kind"] == "meeting" and event.data["after"]["kind"] == "call"


def test_a_stakeholder_was_last_contacted_at_their_latest_interaction(session, alpha):
    am, stakeholder = manager_of(alpha), alpha["stakeholder"]
    older = today_of(alpha) - timedelta(days=40)
    service.log_interaction(session, alpha.account, am, meeting(alpha, occurred_on=older))
    assert service.last_contacted(session, alpha.account) == {stakeholder.id: today_of(alpha)}


def test_no_statement_of_a_client_sees_stakeholders_interactions_or_attendees(session, alpha):
    """The FirmOnly policy, applied by the scope to every statement of a client user."""
    account_id = alpha.account.id
    session.expunge_all()
    with scoped_to(Scope(frozenset({account_id}), client=True)):
        for model in (Stakeholder, Interaction, InteractionAttendee):
            assert session.scalars(sa.select(model)).all() == [], model.__name__
    with scoped_to(Scope(frozenset({account_id}))):
        for model in (Stakeholder, Interaction, InteractionAttendee):
            assert len(session.scalars(sa.select(model)).all()) == 1, model.__name__
