"""The volumes of a contract's scope lines against the contracted quantity (the
account manager, finance and the client alike), and the page that imports them."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from portal import charts
from portal.extensions import db
from portal.i18n import localized
from portal.kpis.routes import _period as last_month_or_asked
from portal.kpis.service import previous_month
from portal.models import Account, Contract, Role
from portal.security import get_or_404
from portal.uploads import add_import_pages
from portal.volumes import imports, service
from portal.web import Blueprint

bp = Blueprint("volumes", __name__)

IMPORTERS = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)


def _contract_of(account_id: int, contract_id: int) -> tuple[Account, Contract]:
    account = get_or_404(db.session, Account, account_id)
    contract = get_or_404(db.session, Contract, contract_id)
    if contract.account_id != account.id:
        abort(404)
    return account, contract


def _chart_name(contract: Contract, until: date) -> str:
    return f"volumes-{contract.id}-{until:%Y-%m}"


def _short(name: str, length: int = 28) -> str:
    """A legend entry short enough for several lines beside the title (the table names them in full)."""
    return name if len(name) <= length else name[:length - 1].rstrip() + "…"


CHART_LINES = 3  # what the chart machinery draws (``charts.line``: three colours)


def _strayed(table: service.VolumeTable) -> list[service.VolumeRow]:
    """The lines over or under the contract in some month, most often first (three at most)."""
    counts = [(sum(1 for c in row.cells if c is not None and c.flag != "within"), row) for row in table.rows]
    return [row for count, row in sorted(counts, key=lambda pair: -pair[0]) if count][:CHART_LINES]


def _chart(account: Account, table: service.VolumeTable) -> charts.Chart:
    """The actual volume of the lines that strayed, as a share of the contracted one,
    month by month, with the 100 % line."""
    series = [(_short(f"{row.line.number}. {localized(row.line.service)}"),
               [None if cell is None else cell.actual / cell.contracted * 100 if cell.contracted else None
                for cell in row.cells]) for row in _strayed(table)]
    return charts.Chart.line(account.id, [f"{m:%Y-%m}" for m in table.months], series,
                             y_label="%", target=100, target_label=_("Contracted"))


@bp.route("/accounts/<int:account_id>/contracts/<int:contract_id>/volumes")
def show(account_id: int, contract_id: int):
    """Each scope line's monthly volume against the contracted quantity, over and under
    use flagged, for the twelve months to the month asked for."""
    account, contract = _contract_of(account_id, contract_id)
    until = last_month_or_asked(account)  # a month's volumes come in after it ends
    table = service.volume_table(db.session, contract, until)
    following = service.month_end(until) + timedelta(days=1)
    version = charts.offer(_chart_name(contract, until), _chart(account, table)) if _strayed(table) else None
    return render_template(
        "volumes/show.html", account=account, contract=contract, table=table, until=until, chart_version=version,
        previous=previous_month(until), following=following if following <= account.today() else None,
        tolerance=service.VOLUME_TOLERANCE, can_import=current_user.role in IMPORTERS)


@bp.route("/accounts/<int:account_id>/contracts/<int:contract_id>/volumes.svg")
def chart(account_id: int, contract_id: int):
    """The volumes' 12-month chart: drawn once per version of its data (``?v=``, as the
    page links it), cached like the scorecard's."""
    account, contract = _contract_of(account_id, contract_id)
    until = last_month_or_asked(account)
    return charts.serve(_chart_name(contract, until), account.id,
                        lambda: _chart(account, service.volume_table(db.session, contract, until)))


add_import_pages(bp, "/volumes/import", kind="volume_import", roles=IMPORTERS, template="volumes/import.html",
                 sample="samples/volumes.csv", ask_for_import=imports.ask_for_import)
