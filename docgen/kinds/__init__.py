"""The kinds of document docgen renders, one module each.

A kind is its input model (validation), its title and its ``build`` function, which
writes the document on a ``Layout``. Adding a kind is adding a module here and its
``KIND`` to ``KINDS``.
"""

from __future__ import annotations

from docgen.kinds import (amendment, credit_note, invoice, plan, portfolio_report, quotation, review_pack, statement,
                          work_order)
from docgen.kinds.common import Kind

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (amendment.KIND, work_order.KIND, plan.KIND, review_pack.KIND, invoice.KIND, statement.KIND,
                 credit_note.KIND, portfolio_report.KIND, quotation.KIND)
}

__all__ = ["KINDS", "Kind"]
