"""The words the plan pages, forms and e-mails show for the plan's codes."""

from __future__ import annotations

from docgen.kinds import plan as document
from flask_babel import lazy_gettext as _l

# The documents' words (marked in docgen, in the catalogs both share).
PLAN_TYPES = {code: _l(message) for code, message in document.PLAN_TYPES.items()}
INITIATIVE_STATUSES = {code: _l(message) for code, message in document.STATUSES.items()}
STATUSES = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "changes_requested": _l("Changes requested"),
    "pending_signoff": _l("Awaiting client sign-off"),
    "signed_off": _l("Signed off"),
}
DECISIONS = {code: _l(document.DECISIONS[code]) for code in ("comment", "approve", "request_changes")}
SECTIONS = {
    "objectives": _l("Objectives"),
    "kpis": _l("KPIs"),
    "initiatives": _l("Initiatives"),
    "budget": _l("Budget"),
    "risks": _l("Risks and mitigations"),
}
FIELDS = {
    "text": _l("Objective"),
    "name": _l("KPI"),
    "baseline": _l("Baseline"),
    "target": _l("Target"),
    "unit": _l("Unit"),
    "kpi": _l("Contract KPI"),
    "title": _l("Initiative"),
    "owner": _l("Owner"),
    "due": _l("Due"),
    "status": _l("Status"),
    "item": _l("Item"),
    "amount": _l("Amount"),
    "risk": _l("Risk"),
    "mitigation": _l("Mitigation"),
}
GAPS = {"missing": _l("translation missing"), "stale": _l("translation out of date")}


def plan_label(kind: str, value) -> str:
    """``plan_label("status", plan.status)``: the word for a code of the plan."""
    tables = {"type": PLAN_TYPES, "status": STATUSES, "decision": DECISIONS, "section": SECTIONS, "field": FIELDS,
              "initiative_status": INITIATIVE_STATUSES, "gap": GAPS}
    value = getattr(value, "value", value)
    if kind == "problem":
        from portal.i18n import problem

        return problem(value)
    return str(tables[kind].get(value, value))


def plan_name(plan) -> str:
    """A plan as a list or a link names it: "Joint business plan FY2027"."""
    return f"{plan_label('type', plan.plan_type)} {plan.period}"
