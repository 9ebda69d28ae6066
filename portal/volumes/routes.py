"""The volumes of a contract's scope lines against the contracted quantity (the
account manager, finance and the client alike), and the page that imports them."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template
from flask_login import current_user

from portal.extensions import db
from portal.kpis.routes import _period as last_month_or_asked
from portal.kpis.service import previous_month
from portal.models import Account, Contract, Role
from portal.security import get_or_404
from portal.uploads import add_import_pages
from portal.volumes import imports, service
from portal.web import Blueprint

bp = Blueprint("volumes", __name__)

IMPORTERS = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)


@bp.route("/accounts/<int:account_id>/contracts/<int:contract_id>/volumes")
def show(account_id: int, contract_id: int):
    """Each scope line's monthly volume against the contracted quantity, over and under
    use flagged, for the twelve months to the month asked for."""
    account = get_or_404(db.session, Account, account_id)
    contract = get_or_404(db.session, Contract, contract_id)
    if contract.account_id != account.id:
        abort(404)
    until = last_month_or_asked(account)  # a month's volumes come in after it ends
    table = service.volume_table(db.session, contract, until)
    following = service.month_end(until) + timedelta(days=1)
    return render_template(
        "volumes/show.html", account=account, contract=contract, table=table, until=until,
        previous=previous_month(until), following=following if following <= account.today() else None,
        tolerance=service.VOLUME_TOLERANCE, can_import=current_user.role in IMPORTERS)


add_import_pages(bp, "/volumes/import", kind="volume_import", roles=IMPORTERS, template="volumes/import.html",
                 sample="samples/volumes.csv", ask_for_import=imports.ask_for_import)
