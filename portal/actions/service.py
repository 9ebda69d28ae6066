"""The Master Action Registry: what was agreed, who owns it, and whether it closed in
time. Items are due 30 days after they are raised unless said otherwise, and never
more than 60 days after without an administrator's recorded extension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from docgen.i18n import LANGUAGES
from portal import audit
from portal.domain import Conflict, DomainError
from portal.models import (
    Account,
    ActionComment,
    ActionItem,
    ActionSource,
    ActionStatus,
    Kpi,
    OwnerSide,
    Role,
    User,
)
from portal.models.base import utcnow

DEFAULT_DAYS, MAX_DAYS = 30, 60
TITLE_LENGTH = 200
OPEN = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
AGE_BUCKETS = ("0-30", "31-60", "60+")


def raised_on(item: ActionItem, account: Account) -> date:
    return account.local_date(item.created_at)


def is_overdue(item: ActionItem, today: date) -> bool:
    return item.status in OPEN and item.due_date < today


def age_bucket(item: ActionItem, account: Account, today: date) -> str:
    """How long the item has been open (or took to close): 0-30, 31-60 or over 60 days."""
    end = item.closed_on or today
    days = (end - raised_on(item, account)).days
    return "0-30" if days <= 30 else ("31-60" if days <= 60 else "60+")


def closed_on_time(item: ActionItem) -> bool:
    return item.status is ActionStatus.DONE and item.closed_on is not None and item.closed_on <= item.due_date


def _check_due(due: date, raised: date, by: User, reason: str) -> tuple[int | None, str]:
    """The 60-day rule: beyond it only an admin may set the date, with a reason."""
    if due < raised:
        raise DomainError(_l("The due date is before the item was raised."), fields={"due_date": "before creation"})
    if due > raised + timedelta(days=MAX_DAYS):
        if by.role is not Role.ADMIN:
            raise DomainError(_l("An item is due within 60 days; only an administrator can extend it."),
                              status=403 if by.is_firm else 422, fields={"due_date": "more than 60 days after creation"})
        if not reason.strip():
            raise DomainError(_l("Give a reason for the extension."), fields={"extension_reason": "required"})
        return by.id, reason.strip()
    return None, ""


def _title_translations(texts: dict[str, str]) -> dict[str, str]:
    """The title in other languages as given (``{"zh": ..., "vi": ...}``), trimmed; a
    language left blank is left out."""
    unknown = sorted(lang for lang in texts if lang not in LANGUAGES)
    if unknown:
        raise DomainError(_l("Some fields are not valid."),
                          fields={f"title_translations.{lang}": "not a language of the portal" for lang in unknown})
    cleaned = {lang: text.strip() for lang, text in texts.items() if text and text.strip()}
    too_long = [lang for lang, text in cleaned.items() if len(text) > TITLE_LENGTH]
    if too_long:
        raise DomainError(_l("Some fields are not valid."),
                          fields={f"title_translations.{lang}": f"at most {TITLE_LENGTH} characters" for lang in too_long})
    return cleaned


def _check_owner(account: Account, owner_side: OwnerSide, owner: User | None) -> None:
    """An item is owned by a firm user of its account (an administrator, or one assigned
    to it), or, when the client owns the item, by one of the client's own users."""
    if owner is None:
        return
    if owner.is_firm:
        allowed = owner.active and (owner.role is Role.ADMIN or account.id in owner.account_ids)
    else:
        allowed = owner.active and owner_side is OwnerSide.CLIENT and owner.account_id == account.id
    if not allowed:
        raise DomainError(_l("Choose an owner from the account's people."),
                          fields={"owner_id": "not a user of this account who may own this item"})


def create(session: Session, account: Account, by: User, *, title: str, description: str = "",
           owner_side: OwnerSide = OwnerSide.FIRM, owner: User | None = None, owner_name: str = "",
           source: ActionSource = ActionSource.MEETING, due_date: date | None = None, extension_reason: str = "",
           kpi_id: int | None = None, request_id: int | None = None, interaction_id: int | None = None,
           minutes_id: int | None = None, title_translations: dict[str, str] | None = None,
           now: datetime | None = None) -> ActionItem:
    """Raise an item (firm users). ``now`` (default: the present) is when it is raised,
    for an item raised in the past (the demo data). ``interaction_id``: the meeting,
    call or e-mail of the interaction log it follows up; ``minutes_id``: the governance
    meeting's minutes it was agreed in. ``title_translations``: the
    title in other languages, which their readers see (``{"zh": ..., "vi": ...}``)."""
    title = title.strip()
    if not title:
        raise DomainError(_l("Give the action item a title."), fields={"title": "required"})
    translations = _title_translations(title_translations or {})
    _check_owner(account, owner_side, owner)
    if kpi_id is not None and session.scalar(sa.select(Kpi.account_id).where(Kpi.id == kpi_id)) != account.id:
        raise DomainError(_l("The KPI is not one of this account's."), fields={"kpi_id": "not a KPI of this account"})
    now = now or utcnow()
    today = account.today(now)
    due_date = due_date or today + timedelta(days=DEFAULT_DAYS)
    extended_by, reason = _check_due(due_date, today, by, extension_reason)
    item = ActionItem(
        account_id=account.id, title=title[:TITLE_LENGTH], title_translations=translations,
        description=description.strip(), owner_side=owner_side,
        owner_id=owner.id if owner else None, owner_name=(owner.name if owner else owner_name.strip())[:200],
        source=source, due_date=due_date, status=ActionStatus.OPEN, kpi_id=kpi_id, request_id=request_id,
        interaction_id=interaction_id, minutes_id=minutes_id, created_by_id=by.id, extended_by_id=extended_by, extension_reason=reason, created_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(session, "action.created", item, actor=by, data={"due": due_date.isoformat(), "source": source.value})
    return item


def update(session: Session, item: ActionItem, account: Account, by: User, *, title: str | None = None,
           description: str | None = None, owner_side: OwnerSide | None = None, owner: User | None = None,
           owner_name: str | None = None, due_date: date | None = None, extension_reason: str = "",
           status: ActionStatus | None = None, title_translations: dict[str, str] | None = None,
           now: datetime | None = None) -> ActionItem:
    """The firm edits an item; moving the due date beyond 60 days needs an admin.
    ``now`` (default: the present) dates a close, for an item closed in the past.
    ``title_translations``, when given, replaces the title's translations."""
    if title is not None:
        if not title.strip():
            raise DomainError(_l("Give the action item a title."), fields={"title": "required"})
        item.title = title.strip()[:TITLE_LENGTH]
    if title_translations is not None:
        item.title_translations = _title_translations(title_translations)
    if description is not None:
        item.description = description.strip()
    kept_owner = item.owner if owner is None and owner_name is None else None
    if owner is not None or (owner_side is not None and owner_side is not item.owner_side):
        _check_owner(account, owner_side or item.owner_side, owner or kept_owner)
    if owner_side is not None:
        item.owner_side = owner_side
    if owner is not None:
        item.owner_id, item.owner_name = owner.id, owner.name
    elif owner_name is not None:
        item.owner_id, item.owner_name = None, owner_name.strip()[:200]
    if due_date is not None and due_date != item.due_date:
        extended_by, reason = _check_due(due_date, raised_on(item, account), by, extension_reason)
        item.due_date = due_date
        if extended_by:
            item.extended_by_id, item.extension_reason = extended_by, reason
    if status is not None and status is not item.status:  # re-saving keeps the close date
        _set_status(item, account, status, now)
    session.flush()
    audit.record(session, "action.updated", item, actor=by)
    return item


def _set_status(item: ActionItem, account: Account, status: ActionStatus, now: datetime | None = None) -> None:
    item.status = status
    item.closed_on = account.today(now) if status in (ActionStatus.DONE, ActionStatus.CANCELLED) else None


def mark_done_by_client(session: Session, item: ActionItem, account: Account, by: User) -> None:
    """A client user closes an item the client owns."""
    if item.owner_side is not OwnerSide.CLIENT:
        raise DomainError(_l("Only items your company owns can be marked done here."), status=403)
    if item.status not in OPEN:
        raise Conflict(_l("This item is already closed."))
    _set_status(item, account, ActionStatus.DONE)
    session.flush()
    audit.record(session, "action.done", item, actor=by)


def comment(session: Session, item: ActionItem, by: User, body: str) -> ActionComment:
    if not body.strip():
        raise DomainError(_l("Write a comment first."), fields={"body": "required"})
    note = ActionComment(account_id=item.account_id, action_id=item.id, author_id=by.id, body=body.strip())
    item.comments.append(note)
    session.flush()
    return note


# --- the registry ------------------------------------------------------------------------


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    last = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return first, last


def registry_query(*, account_id: int | None = None, status: str | None = None, owner_side: str | None = None,
                   quarter: tuple[int, int] | None = None) -> sa.Select:
    query = sa.select(ActionItem).options(selectinload(ActionItem.owner))
    if account_id:
        query = query.where(ActionItem.account_id == account_id)
    if status == "open":
        query = query.where(ActionItem.status.in_(OPEN))
    elif status in {s.value for s in ActionStatus}:
        query = query.where(ActionItem.status == ActionStatus(status))
    if owner_side in {s.value for s in OwnerSide}:
        query = query.where(ActionItem.owner_side == OwnerSide(owner_side))
    if quarter:
        first, last = quarter_bounds(*quarter)
        # The Q2 registry: what fell due in Q2.
        query = query.where(ActionItem.due_date >= first, ActionItem.due_date < last)
    return query.order_by(ActionItem.due_date, ActionItem.id)


@dataclass
class QuarterSummary:
    total: int
    closed: int
    on_time: int
    overdue: int

    @property
    def on_time_share(self):
        from decimal import Decimal

        return (Decimal(self.on_time) / self.total).quantize(Decimal("0.0001")) if self.total else None


def summarize(items: list[ActionItem], todays: dict[int, date]) -> QuarterSummary:
    return QuarterSummary(
        total=len(items),
        closed=sum(1 for i in items if i.status is ActionStatus.DONE),
        on_time=sum(1 for i in items if closed_on_time(i)),
        overdue=sum(1 for i in items if is_overdue(i, todays[i.account_id])),
    )
