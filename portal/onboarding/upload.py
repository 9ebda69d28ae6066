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
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import SubmitField

from portal.extensions import db
from portal.files import CSV, MAX_FILE_BYTES, MAX_FILE_MB, TEXT, XLSX, UploadError, check_upload
from portal.forms import OnceForm
from portal.models import Role
from portal.onboarding import imports
from portal.security import require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("account_import", __name__)

SAMPLE = "samples/accounts-import.csv"  # under static/


class AccountImportForm(OnceForm):
    file = FileField(_l("CSV file or Excel workbook (.xlsx)"),
                     validators=[FileRequired(_l("Choose a file to import."))],
                     render_kw={"accept": f".csv,.xlsx,{CSV},{XLSX}", "data-max-bytes": MAX_FILE_BYTES,
                                "data-too-large": _l("%(name)s is larger than %(limit)s MB.", name="{name}",
                                                     limit=MAX_FILE_MB)})
    submit = SubmitField(_l("Import"))

    def field_at(self, path: str):
        """Where a refused upload's problem stands (``files.UploadError`` names ``attachments``)."""
        return self.file if path == "attachments" else None


@bp.route("/accounts/import", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def upload():
    form = AccountImportForm()
    page = keep_form(form, lambda: render_template("onboarding/import.html", form=form, sample=SAMPLE,
                                                   problems=_problems(g.get("refusal"))))
    if form.validate_on_submit():
        incoming = imports.read_accounts_file(_spreadsheet(form.file.data))
        summary = imports.create_accounts(db.session, current_user, incoming)
        flash(_("Imported %(accounts)s, %(contracts)s and %(lines)s.",
                accounts=ngettext("%(num)s account", "%(num)s accounts", summary.accounts),
                contracts=ngettext("%(num)s contract", "%(num)s contracts", summary.contracts),
                lines=ngettext("%(num)s scope line", "%(num)s scope lines", summary.scope_lines)), "success")
        return redirect(url_for("main.accounts"))
    return page()


def _spreadsheet(storage: FileStorage) -> bytes:
    """The upload's bytes, once ``files`` has checked its size and content (no archive
    is unpacked before its directory passes), and only a CSV file or a workbook."""
    checked = check_upload(storage.filename or "", storage.stream.read(MAX_FILE_BYTES + 1))
    if checked.content_type not in (CSV, TEXT, XLSX):
        raise UploadError("type_not_allowed", _l("%(name)s is neither a CSV file nor an Excel workbook (.xlsx).",
                                                 name=checked.filename))
    return checked.data


def _problems(refusal) -> list[tuple[int, str, str]]:
    """(line, column, message in the reader's words) of a refused file's problems."""
    return [(p.line, p.field, imports.in_words(p.message)) for p in getattr(refusal, "problems", ())]
