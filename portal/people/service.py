"""The people around an account: the firm's team on it, its escalation matrix, the
client's stakeholders and the log of the firm's meetings, calls and e-mails with them.

* The administrator names the team (account managers, regional reviewers, finance);
  each member joins in the role they have. Scoping and notifications follow the team:
  a user added sees the account from their next page on, one removed no longer does.
* The escalation matrix has three levels, each with named contacts on the firm's side
  and the client's; the administrator and the account's account managers keep it.
* Stakeholders and interactions are the firm's working notes (``FirmOnly``): every
  firm user of the account keeps them, and clients never see them. An interaction's
  follow-up actions go to the Master Action Registry, raised from a meeting.

Every change is an audit event; the team's and the matrix's with the whole before and after.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from docgen.i18n import LANGUAGES
from portal import audit
from docgen.formatting import quantize_money
from portal.accounts import TEAM_ROLES, firm_people, team
from portal.actions import service as actions
from portal.auth.service import normalise_email
from portal.domain import DomainError
from portal.i18n import LABELS
from portal.models import (
    Account,
    ActionSource,
    DecisionRole,
    EscalationContact,
    Interaction,
    InteractionAttendee,
    InteractionKind,
    OwnerSide,
    Role,
    Stakeholder,
    User,
    account_members,
)
from portal.notifications import Recipient, link, notify

LEVELS = (1, 2, 3)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NAME_LENGTH, TITLE_LENGTH, EMAIL_LENGTH, PHONE_LENGTH = 200, 200, 254, 50


def _refuse(message, fields: dict[str, str]) -> None:
    if fields:
        raise DomainError(message, fields=fields)


def _text(value: str | None) -> str:
    return (value or "").strip()


def _check_length(fields: dict[str, str], path: str, value: str, limit: int) -> None:
    if len(value) > limit:
        fields.setdefault(path, f"at most {limit} characters")


def _check_email(fields: dict[str, str], path: str, email: str, *, required: bool) -> None:
    if not email:
        if required:
            fields.setdefault(path, "required")
    elif len(email) > EMAIL_LENGTH or not EMAIL.fullmatch(email):
        fields.setdefault(path, "not an e-mail address")


# --- the team ------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    """A firm user on the account's team, in the role the user has."""

    user_id: int
    role: Role


def _member_json(user: User) -> dict:
    return {"user_id": user.id, "email": user.email, "role": user.role.value}


def set_team(session: Session, account: Account, by: User, members: Sequence[TeamMember]) -> list[User]:
    """Replace the firm's team on the account (administrators only). Each member is an
    account manager, a regional reviewer or a finance user, and joins in that role: a
    user listed in another role is refused. From the next request on, the users added
    see the account and get its notifications, and those removed no longer do; each
    one added is told by e-mail. Returns the team."""
    if by.role is not Role.ADMIN:
        raise DomainError(_l("Only an administrator names the team of an account."), status=403)
    wanted = [member.user_id for member in members]
    before_ids = set(session.scalars(sa.select(account_members.c.user_id)
                                     .where(account_members.c.account_id == account.id)))
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(set(wanted) | before_ids)))}
    fields: dict[str, str] = {}
    message = _l("Choose each member from the firm's account managers, regional reviewers and finance users.")
    for i, member in enumerate(members):
        user = users.get(member.user_id)
        if user is None:
            fields[f"members.{i}.user_id"] = "no such user"
        elif member.user_id in wanted[:i]:
            fields[f"members.{i}.user_id"] = "listed twice"
        elif member.role not in TEAM_ROLES:
            fields[f"members.{i}.role"] = "not a role of the team"
        elif user.role is not member.role:
            fields[f"members.{i}.role"] = f"not the user's role ({user.role.value})"
            message = _l("%(name)s is “%(role)s”, not “%(wanted)s”: each member joins the team in the role they have.",
                         name=user.name, role=LABELS["role"][user.role.value],
                         wanted=LABELS["role"].get(member.role.value, member.role.value))
    _refuse(message, fields)
    before = [_member_json(u) for u in team(session, account, active_only=False)]
    added, removed = set(wanted) - before_ids, before_ids - set(wanted)
    if removed:
        session.execute(sa.delete(account_members).where(account_members.c.account_id == account.id,
                                                         account_members.c.user_id.in_(removed)))
    if added:
        session.execute(sa.insert(account_members), [{"account_id": account.id, "user_id": i} for i in sorted(added)])
    for user_id in added | removed:
        users[user_id]._account_ids = None  # cached per instance: read the assignments again
    session.flush()
    members_now = team(session, account, active_only=False)
    if added or removed:
        audit.record(session, "account.team_changed", account, account_id=account.id, actor=by,
                     data={"before": before, "after": [_member_json(u) for u in members_now]})
        for user in (users[i] for i in sorted(added) if users[i].active):
            notify(session, "team_joined", [Recipient.of_user(user)], account_id=account.id, account=account, by=by,
                   role=user.role, url=link(f"/accounts/{account.id}"))
    return members_now


# --- the client's approval limits ------------------------------------------------------


@dataclass
class ApprovalLimit:
    """A client approver's limit in the account's currency; None: no limit."""

    user_id: int
    limit: Decimal | None


def _limit_json(user: User) -> dict:
    return {"user_id": user.id, "approval_limit": None if user.approval_limit is None else str(user.approval_limit),
            "higher_authority": user.higher_authority}


def account_approvers(session: Session, account: Account) -> list[User]:
    """Every client approver of the account, the disabled ones too, by name."""
    return list(session.scalars(sa.select(User).where(User.account_id == account.id, User.role == Role.CLIENT_APPROVER)
                                .order_by(User.name, User.id)))


def set_approval_limits(session: Session, account: Account, by: User, limits: Sequence[ApprovalLimit],
                        higher_authority_id: int | None) -> list[User]:
    """The client's delegation of authority as its account manager (or an
    administrator) records it: each listed client approver's limit, and the one approver
    the account names as its higher authority (None: none). A change request whose price
    impact is above an approver's limit then needs a second approver whose limit covers
    it, or the higher authority. Returns the account's approvers."""
    if not (by.role is Role.ADMIN or (by.role is Role.ACCOUNT_MANAGER and account.id in by.account_ids)):
        raise DomainError(_l("Only the account's managers and administrators set the client's approval limits."),
                          status=403)
    approvers = {u.id: u for u in account_approvers(session, account)}
    fields: dict[str, str] = {}
    for i, item in enumerate(limits):
        if item.user_id not in approvers:
            fields[f"limits.{i}.user_id"] = "not a client approver of this account"
        elif item.limit is not None and (item.limit < 0 or item.limit != quantize_money(item.limit, account.currency)):
            fields[f"limits.{i}.limit"] = f"not an amount in {account.currency}"
    if higher_authority_id is not None and higher_authority_id not in approvers:
        fields["higher_authority_id"] = "not a client approver of this account"
    _refuse(_l("Give each approver's limit as an amount in the account's currency, or none."), fields)
    before = [_limit_json(u) for u in approvers.values()]
    for item in limits:
        approvers[item.user_id].approval_limit = item.limit
    for user in approvers.values():
        user.higher_authority = user.id == higher_authority_id
    session.flush()
    after = [_limit_json(u) for u in approvers.values()]
    if after != before:
        audit.record(session, "account.approval_limits_changed", account, account_id=account.id, actor=by,
                     data={"before": before, "after": after})
    return list(approvers.values())


# --- the escalation matrix -------------------------------------------------------------


@dataclass
class ContactInput:
    """One contact of the matrix as a form or the API gives it; ``title`` as plain text
    (the English title) or per language."""

    level: int
    side: OwnerSide
    name: str
    email: str
    title: dict[str, str] | str = field(default_factory=dict)
    phone: str = ""


def can_edit_matrix(user: User, account: Account) -> bool:
    """The administrator and the account's own account managers keep its escalation matrix."""
    return user.role is Role.ADMIN or (user.role is Role.ACCOUNT_MANAGER and account.id in user.account_ids)


def _contact_values(i: int, contact: ContactInput, fields: dict[str, str]) -> dict:
    path = f"contacts.{i}"
    titles = {"en": contact.title} if isinstance(contact.title, str) else dict(contact.title)
    values = {"level": contact.level, "side": OwnerSide(contact.side), "name": _text(contact.name),
              "email": _text(contact.email), "phone": _text(contact.phone),
              "title": {lang: _text(titles.get(lang)) for lang in LANGUAGES if _text(titles.get(lang))}}
    if contact.level not in LEVELS:
        fields[f"{path}.level"] = "1 to 3"
    if not values["name"]:
        fields[f"{path}.name"] = "required"
    _check_length(fields, f"{path}.name", values["name"], NAME_LENGTH)
    _check_email(fields, f"{path}.email", values["email"], required=True)
    _check_length(fields, f"{path}.phone", values["phone"], PHONE_LENGTH)
    for lang, title in values["title"].items():
        _check_length(fields, f"{path}.title_{lang}", title, TITLE_LENGTH)
    return values


def _contact_json(contact: EscalationContact) -> dict:
    return {"level": contact.level, "side": contact.side.value, "name": contact.name, "title": dict(contact.title),
            "email": contact.email, "phone": contact.phone}


def _portal_users(session: Session, account: Account, emails: set[str]) -> dict[tuple[OwnerSide, str], int]:
    """The portal users behind the contacts' e-mails: a firm user on the firm's side, a
    user of the account on the client's."""
    found = session.scalars(sa.select(User).where(User.email.in_(emails), User.active)) if emails else []
    users = {}
    for user in found:
        if user.is_firm:
            users[(OwnerSide.FIRM, user.email)] = user.id
        elif user.account_id == account.id:
            users[(OwnerSide.CLIENT, user.email)] = user.id
    return users


def replace_escalation_matrix(session: Session, account: Account, by: User,
                              contacts: Sequence[ContactInput]) -> list[EscalationContact]:
    """Replace the account's escalation matrix with ``contacts``: each at level 1, 2 or
    3, on the firm's side or the client's, with a name, an e-mail address, and a title
    and a phone number if known. A contact who is a portal user is notified in their
    own language when a request reaches their level. Returns the new matrix."""
    if not can_edit_matrix(by, account):
        raise DomainError(_l("Only an administrator or the account's account managers keep its escalation matrix."),
                          status=403)
    fields: dict[str, str] = {}
    rows = [_contact_values(i, contact, fields) for i, contact in enumerate(contacts)]
    _refuse(_l("Give each contact a level from 1 to 3, a name and a valid e-mail address."), fields)
    existing = list(session.scalars(sa.select(EscalationContact).where(EscalationContact.account_id == account.id)
                                    .order_by(EscalationContact.level, EscalationContact.id)))
    users = _portal_users(session, account, {normalise_email(values["email"]) for values in rows})
    matrix = [EscalationContact(account_id=account.id, user_id=users.get((values["side"], normalise_email(values["email"]))),
                                **values) for values in sorted(rows, key=lambda values: values["level"])]
    before, after = [_contact_json(c) for c in existing], [_contact_json(c) for c in matrix]
    if before == after:
        return existing
    for contact in existing:
        session.delete(contact)
    session.flush()
    session.add_all(matrix)
    session.flush()
    audit.record(session, "account.escalation_matrix_changed", account, account_id=account.id, actor=by,
                 data={"before": before, "after": after})
    return matrix


# --- stakeholders and interactions: the firm's own notes -----------------------------------


def _require_firm_user_of(account: Account, by: User) -> None:
    if not by.is_firm or not (by.role is Role.ADMIN or account.id in by.account_ids):
        raise DomainError(_l("Only the firm's people on this account keep its stakeholders and interactions."),
                          status=403)


def _check_working_on(session: Session, account: Account, users: Sequence[User], path: str,
                      fields: dict[str, str]) -> None:
    allowed = {u.id for u in firm_people(session, account)}
    if any(user.id not in allowed for user in users):
        fields[path] = "not a firm user of this account"


@dataclass
class StakeholderDetails:
    """What the firm knows of a person on the client's side."""

    name: str
    decision_role: DecisionRole
    title: str = ""
    language: str = "en"
    email: str = ""
    phone: str = ""
    notes: str = ""
    owner: User | None = None  # the firm user who owns the relationship
    # The job title in other languages than the one it is written in ({"zh": ..., "vi": ...}).
    title_translations: dict[str, str] = field(default_factory=dict)


STAKEHOLDER_FIELDS = ("name", "title", "title_translations", "decision_role", "language", "email", "phone", "notes",
                      "owner_id")


def _apply_stakeholder(session: Session, stakeholder: Stakeholder, account: Account, details: StakeholderDetails) -> None:
    values = {"name": _text(details.name), "title": _text(details.title), "decision_role": DecisionRole(details.decision_role),
              "language": details.language, "email": _text(details.email), "phone": _text(details.phone),
              "notes": (details.notes or "").strip(), "owner_id": details.owner.id if details.owner else None,
              "title_translations": {lang: _text(text) for lang, text in details.title_translations.items() if _text(text)}}
    fields: dict[str, str] = {}
    if not values["name"]:
        fields["name"] = "required"
    _check_length(fields, "name", values["name"], NAME_LENGTH)
    _check_length(fields, "title", values["title"], TITLE_LENGTH)
    for lang, title in values["title_translations"].items():
        if lang not in LANGUAGES:
            fields[f"title_{lang}"] = "not a language of the portal"
        _check_length(fields, f"title_{lang}", title, TITLE_LENGTH)
    _check_email(fields, "email", values["email"], required=False)
    _check_length(fields, "phone", values["phone"], PHONE_LENGTH)
    if values["language"] not in LANGUAGES:
        fields["language"] = "not a language of the portal"
    if details.owner is not None:
        _check_working_on(session, account, [details.owner], "owner_id", fields)
    _refuse(_l("Check the stakeholder's details."), fields)
    for key, value in values.items():
        setattr(stakeholder, key, value)


def add_stakeholder(session: Session, account: Account, by: User, details: StakeholderDetails) -> Stakeholder:
    """Add a person on the client's side to the account's stakeholders (firm users of
    the account): their part in decisions, language, contact details and the firm's
    notes, which the client never sees."""
    _require_firm_user_of(account, by)
    stakeholder = Stakeholder(account_id=account.id, created_by_id=by.id)
    _apply_stakeholder(session, stakeholder, account, details)
    session.add(stakeholder)
    session.flush()
    audit.record(session, "stakeholder.added", stakeholder, actor=by, data={"name": stakeholder.name})
    return stakeholder


def edit_stakeholder(session: Session, stakeholder: Stakeholder, account: Account, by: User,
                     details: StakeholderDetails) -> Stakeholder:
    """Change what the firm knows of a stakeholder; the audit event names the fields
    changed (not the notes themselves)."""
    _require_firm_user_of(account, by)
    before = {key: getattr(stakeholder, key) for key in STAKEHOLDER_FIELDS}
    _apply_stakeholder(session, stakeholder, account, details)
    changed = [key for key in STAKEHOLDER_FIELDS if getattr(stakeholder, key) != before[key]]
    if changed:
        session.flush()
        audit.record(session, "stakeholder.updated", stakeholder, actor=by, data={"changed": changed})
    return stakeholder


def stakeholders(session: Session, account: Account) -> list[Stakeholder]:
    """The account's stakeholders, the decision makers first, then by name."""
    order = sa.case({role: i for i, role in enumerate(DecisionRole)}, value=Stakeholder.decision_role)
    return list(session.scalars(sa.select(Stakeholder).where(Stakeholder.account_id == account.id)
                                .order_by(order, Stakeholder.name, Stakeholder.id)))


def last_contacted(session: Session, account: Account) -> dict[int, date]:
    """The date of each stakeholder's latest interaction, by stakeholder id."""
    return dict(session.execute(
        sa.select(InteractionAttendee.stakeholder_id, sa.func.max(Interaction.occurred_on))
        .join(Interaction, Interaction.id == InteractionAttendee.interaction_id)
        .where(Interaction.account_id == account.id, InteractionAttendee.stakeholder_id.is_not(None))
        .group_by(InteractionAttendee.stakeholder_id)
    ).all())


@dataclass
class InteractionDetails:
    """A meeting, call or e-mail as the firm records it."""

    kind: InteractionKind
    occurred_on: date
    subject: str
    summary: str = ""
    firm_attendees: Sequence[User] = ()
    stakeholders: Sequence[Stakeholder] = ()
    other_attendees: Sequence[str] = ()  # names of people who are neither


@dataclass
class FollowUp:
    """An action agreed in the interaction, for the Master Action Registry."""

    title: str
    owner_side: OwnerSide = OwnerSide.FIRM
    owner: User | None = None  # a firm user of the account, or a user of the client
    owner_name: str = ""  # else the owner by name
    due_date: date | None = None  # default: 30 days on


def _apply_interaction(session: Session, interaction: Interaction, account: Account, details: InteractionDetails) -> None:
    fields: dict[str, str] = {}
    subject, others = _text(details.subject), [_text(name) for name in details.other_attendees if _text(name)]
    if not subject:
        fields["subject"] = "required"
    _check_length(fields, "subject", subject, NAME_LENGTH)
    if details.occurred_on > account.today():
        fields["occurred_on"] = "in the future"
    _check_working_on(session, account, details.firm_attendees, "firm_attendees", fields)
    if any(s.account_id != account.id for s in details.stakeholders):
        fields["stakeholders"] = "not a stakeholder of this account"
    for name in others:
        _check_length(fields, "other_attendees", name, NAME_LENGTH)
    _refuse(_l("Check the interaction's details: a subject, a date not in the future, and attendees of this account."),
            fields)
    interaction.kind, interaction.occurred_on, interaction.subject = InteractionKind(details.kind), details.occurred_on, subject
    interaction.summary = (details.summary or "").strip()
    interaction.attendees = (
        [InteractionAttendee(account_id=account.id, user_id=u.id, name=u.name) for u in _unique(details.firm_attendees)]
        + [InteractionAttendee(account_id=account.id, stakeholder_id=s.id, name=s.name) for s in _unique(details.stakeholders)]
        + [InteractionAttendee(account_id=account.id, name=name) for name in dict.fromkeys(others)]
    )


def _unique(objects):
    return list({obj.id: obj for obj in objects}.values())


def _raise_follow_ups(session: Session, interaction: Interaction, account: Account, by: User,
                      follow_ups: Sequence[FollowUp]) -> None:
    """Each follow-up becomes an item of the Master Action Registry raised from a
    meeting; a refused one names its row (``actions.0.due_date``)."""
    for i, follow_up in enumerate(follow_ups):
        try:
            actions.create(session, account, by, title=follow_up.title, owner_side=follow_up.owner_side,
                           owner=follow_up.owner, owner_name=follow_up.owner_name, source=ActionSource.MEETING,
                           due_date=follow_up.due_date, interaction_id=interaction.id)
        except DomainError as refused:  # the same refusal, about this row
            raise DomainError(refused.message, status=refused.status,
                              fields={f"actions.{i}.{key}": problem for key, problem in (refused.fields or {}).items()}) from None


def _interaction_json(interaction: Interaction) -> dict:
    return {"kind": interaction.kind.value, "occurred_on": interaction.occurred_on.isoformat(),
            "subject": interaction.subject, "attendees": [a.name for a in interaction.attendees]}


def log_interaction(session: Session, account: Account, by: User, details: InteractionDetails,
                    follow_ups: Sequence[FollowUp] = ()) -> Interaction:
    """Record a meeting, call or e-mail with the client (firm users of the account):
    when, who took part (the firm's people, the client's stakeholders, others by name),
    what was said, and the follow-up actions agreed, each raised in the Master Action
    Registry with the source "meeting"."""
    _require_firm_user_of(account, by)
    interaction = Interaction(account_id=account.id, created_by_id=by.id)
    _apply_interaction(session, interaction, account, details)
    session.add(interaction)
    session.flush()
    _raise_follow_ups(session, interaction, account, by, follow_ups)
    audit.record(session, "interaction.logged", interaction, actor=by,
                 data={**_interaction_json(interaction), "follow_ups": len(follow_ups)})
    return interaction


def edit_interaction(session: Session, interaction: Interaction, account: Account, by: User,
                     details: InteractionDetails, follow_ups: Sequence[FollowUp] = ()) -> Interaction:
    """Correct an interaction's record and raise more follow-up actions from it; the
    actions raised before live on in the registry, where they are edited."""
    _require_firm_user_of(account, by)
    before = _interaction_json(interaction)
    _apply_interaction(session, interaction, account, details)
    session.flush()
    _raise_follow_ups(session, interaction, account, by, follow_ups)
    audit.record(session, "interaction.updated", interaction, actor=by,
                 data={"before": before, "after": _interaction_json(interaction), "follow_ups": len(follow_ups)})
    return interaction
