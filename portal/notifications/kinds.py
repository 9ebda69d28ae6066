"""The kinds of notification: what each is called on the settings page, and which roles
can receive it (the page offers a user the choice of e-mail for those only)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.models import CLIENT_ROLES, FIRM_ROLES, Role

# Mails that keep an account safe or let someone in: always sent at once, whatever the
# recipient chose, and never shown in the portal (their link works once, by e-mail).
ALWAYS_EMAILED = frozenset({"invitation", "password_reset"})
# The daily e-mail of a user's unread notifications (``service.send_digests``).
DIGEST = "digest"

_CLIENTS = frozenset(CLIENT_ROLES)
_ASSIGNEES = frozenset({Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN})  # who a request may be assigned to
_ISSUERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Kind:
    name: str
    label: object  # a lazy string
    roles: frozenset[Role]


KINDS: dict[str, Kind] = {kind.name: kind for kind in [
    Kind("cr_awaiting_approval", _l("A change request awaits your approval"), frozenset({Role.CLIENT_APPROVER})),
    Kind("cr_awaiting_internal_approval", _l("A change request needs internal approval"), frozenset({Role.ADMIN})),
    Kind("cr_decided", _l("The client decided on a change request: approved, rejected or made a counter-proposal"), _ISSUERS),
    Kind("document_issued", _l("A document is issued to your company"), _CLIENTS),
    Kind("document_review_requested", _l("A document awaits your review"), frozenset({Role.REGIONAL_REVIEWER})),
    Kind("document_reviewed", _l("A reviewer commented on or approved your document"), _ISSUERS),
    Kind("document_issued_after_review", _l("Your document is issued after its review"), _ISSUERS),
    Kind("plan_review_requested", _l("A business plan awaits your review"),
         frozenset({Role.REGIONAL_REVIEWER, Role.ACCOUNT_MANAGER})),
    Kind("plan_reviewed", _l("A business plan you work on was reviewed"), _ISSUERS),
    Kind("plan_awaiting_signoff", _l("A business plan awaits your sign-off"), frozenset({Role.CLIENT_APPROVER})),
    Kind("plan_signed_off", _l("A business plan was signed off"), _ISSUERS | {Role.REGIONAL_REVIEWER}),
    Kind("request_created", _l("A new service request"), frozenset({Role.ACCOUNT_MANAGER})),
    Kind("request_reply", _l("A reply on a service request"), _CLIENTS | _ASSIGNEES),
    Kind("request_status", _l("A service request's status changed"), _CLIENTS | _ASSIGNEES),
    Kind("request_escalated", _l("A service request was escalated"), frozenset(FIRM_ROLES)),
    Kind("feedback_low", _l("Low feedback from a client"), frozenset({Role.ACCOUNT_MANAGER})),
    Kind("kpi_comment", _l("A comment on a KPI of the scorecard"), _CLIENTS | {Role.ACCOUNT_MANAGER}),
    Kind("service_credit_issued", _l("A service credit note is issued to your company"), _CLIENTS),
    Kind("contract_ending", _l("A contract ends soon"), frozenset({Role.ACCOUNT_MANAGER})),
    Kind("meeting_soon", _l("A governance meeting you attend starts within a day"), frozenset(Role)),
    Kind("portfolio_alert", _l("An adverse variance of an account (KPI, DSO, revenue, CSAT)"),
         frozenset({Role.ACCOUNT_MANAGER})),
    Kind("team_joined", _l("You were added to an account's team"),
         frozenset({Role.ACCOUNT_MANAGER, Role.FINANCE, Role.REGIONAL_REVIEWER})),
]}


def kinds_for(role: Role) -> list[Kind]:
    """The kinds a user of ``role`` can receive, in the settings page's order."""
    return [kind for kind in KINDS.values() if role in kind.roles]
