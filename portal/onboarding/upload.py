"""The administrator's page for the account import (``portal.onboarding.imports``):
``/accounts/import`` takes a CSV file or an Excel workbook and creates its accounts,
contracts and scope lines, all or nothing.

A refused file comes back as the page again, listing every problem by row and column in
the reader's language; a file that imports leads to the accounts with the counts. In a
browser running ``app.js`` a bar shows the upload's progress, then the server at work;
without it the form posts as any other.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.extensions import db
from portal.files import check_spreadsheet
from portal.forms import SpreadsheetForm
from portal.models import Role
from portal.onboarding import imports
from portal.security import require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("account_import", __name__)

SAMPLE = "samples/accounts-import.csv"  # under static/


@bp.route("/accounts/import", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def upload():
    form = SpreadsheetForm()
    page = keep_form(form, lambda: render_template("onboarding/import.html", form=form, sample=SAMPLE,
                                                   problems=_problems(g.get("refusal"))))
    if form.validate_on_submit():
        incoming = imports.read_accounts_file(check_spreadsheet(form.file.data).data)
        summary = imports.create_accounts(db.session, current_user, incoming)
        flash(_("Imported %(accounts)s, %(contracts)s and %(lines)s.",
                accounts=ngettext("%(num)s account", "%(num)s accounts", summary.accounts),
                contracts=ngettext("%(num)s contract", "%(num)s contracts", summary.contracts),
                lines=ngettext("%(num)s scope line", "%(num)s scope lines", summary.scope_lines)), "success")
        return redirect(url_for("main.accounts"))
    return page()


def _problems(refusal) -> list[dict]:
    """{row, column, message in the reader's words} of a refused file's problems."""
    return [{"row": p.line, "column": p.field, "message": imports.in_words(p.message)}
            for p in getattr(refusal, "problems", ())]
