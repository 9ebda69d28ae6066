"""The management report (docgen ``portfolio_report``) from the portfolio's figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app

from docgen import render
from portal.documents.service import provider
from portal.models import User
from portal.portfolio.service import Portfolio, PortfolioAlert, quarter_start


def quarter_of(month: date) -> str:
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}"


def parse_quarter(label: str) -> date | None:
    """``YYYY-Qn`` → the quarter's first day (None when malformed)."""
    year, _q, number = label.partition("-Q")
    try:
        return quarter_start(int(year), int(number)) if len(year) == 4 and len(number) == 1 else None
    except ValueError:
        return None


def _text(value) -> str | None:
    return None if value is None else str(value)


def report_data(result: Portfolio, alerts: list[PortfolioAlert], by: User, *, language: str, period_label: str,
                today: date) -> dict[str, Any]:
    """The report's plain input: the figures as the page shows them, nothing from the database."""
    firm = provider(by)
    return {
        "kind": "portfolio_report", "languages": [language], "date": today.isoformat(),
        "number": f"PFR-{period_label}", "period": period_label, "provider": firm,
        "client": {"name": current_app.config["FIRM_NAME"]},
        "accounts": [{
            "name": row.account.name, "currency": row.currency, "rag": row.rag, "kpis_met": _text(row.kpis_met),
            "csat": _text(row.csat), "open_requests": row.open_requests, "overdue_requests": row.overdue_requests,
            "escalations": row.escalations, "overdue_actions": row.overdue_actions,
            "dso": _text(row.dso.value if row.dso else None), "overdue": str(row.overdue_amount),
            "overdue_elsewhere": [{"currency": currency, "amount": str(owed)}
                                  for currency, owed in sorted(row.overdue_elsewhere.items())],
            "billed": _text(row.revenue.billed if row.revenue else None),
            "expected": _text(row.revenue.expected if row.revenue else None),
            "contracts_ending": len(row.contracts_ending), "pending_decisions": row.pending_decisions,
        } for row in result.rows],
        "totals": [{"currency": currency, "accounts": int(t["accounts"]),
                    **{name: str(t.get(name, 0)) if t["accounts"] else None for name in ("acv", "billed", "expected")},
                    "overdue": str(t["overdue"])} for currency, t in result.totals.items()],
        "alerts": [{"account": a.account.name, "kind": a.kind.value, "period": f"{a.period:%Y-%m}",
                    "cleared": a.closed_at is not None} for a in alerts],
    }


def render_report(data: dict[str, Any]) -> bytes:
    return render(data)
