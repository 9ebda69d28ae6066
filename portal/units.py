"""A quantity with its unit, as a reader of the UI says it: "4,200 payslips",
"4,200 份工资单", "4.200 phiếu lương".

The unit codes are docgen's (``docgen.vocabulary.UNITS``); each has a message with a
plural here, so that English counts its units and Chinese gives each its measure word.
A unit the portal does not know is written after the number as it was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import ngettext

from portal.i18n import number, unit

# Written out one by one so that each message is extracted for the catalogs.
_COUNTED: dict[str, Callable[[Decimal, str], str]] = {
    "payslip": lambda n, c: ngettext("%(count)s payslip", "%(count)s payslips", n, count=c),
    "payslip/month": lambda n, c: ngettext("%(count)s payslip/month", "%(count)s payslips/month", n, count=c),
    "entity-month": lambda n, c: ngettext("%(count)s entity-month", "%(count)s entity-months", n, count=c),
    "user-month": lambda n, c: ngettext("%(count)s user-month", "%(count)s user-months", n, count=c),
    "site-month": lambda n, c: ngettext("%(count)s site-month", "%(count)s site-months", n, count=c),
    "employee-month": lambda n, c: ngettext("%(count)s employee-month", "%(count)s employee-months", n, count=c),
    "month": lambda n, c: ngettext("%(count)s month", "%(count)s months", n, count=c),
    "hour": lambda n, c: ngettext("%(count)s hour", "%(count)s hours", n, count=c),
    "day": lambda n, c: ngettext("%(count)s day", "%(count)s days", n, count=c),
    "document": lambda n, c: ngettext("%(count)s document", "%(count)s documents", n, count=c),
    "transaction": lambda n, c: ngettext("%(count)s transaction", "%(count)s transactions", n, count=c),
    "user": lambda n, c: ngettext("%(count)s user", "%(count)s users", n, count=c),
    "project": lambda n, c: ngettext("%(count)s project", "%(count)s projects", n, count=c),
    "invoice": lambda n, c: ngettext("%(count)s invoice", "%(count)s invoices", n, count=c),
    "employee": lambda n, c: ngettext("%(count)s employee", "%(count)s employees", n, count=c),
}
_COUNTED["hours"], _COUNTED["days"] = _COUNTED["hour"], _COUNTED["day"]


def counted(quantity: Decimal, code: str | None) -> str:
    """``quantity`` of the unit ``code`` in the UI's language and number format."""
    from docgen.vocabulary import UNITS

    figure = number(quantity)
    known = UNITS.find(code or "")
    if known in _COUNTED:
        # gettext chooses a plural by a whole number; a fraction counts as many (1.5 days).
        whole = int(quantity) if quantity == quantity.to_integral_value() else 2
        return _COUNTED[known](whole, figure)
    return f"{figure} {unit(code)}".strip()


def in_hours(minutes: int) -> Decimal:
    """A time in minutes as hours, to the hundredth: 90 is 1.5, 100 is 1.67."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)


def hours(minutes: int) -> str:
    """A target in minutes as hours in the UI's language: "1.5 hours", "27 小时"."""
    return counted(in_hours(minutes), "hour")
