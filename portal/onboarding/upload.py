"""The administrator's page for the account import (``portal.onboarding.imports``):
``/accounts/import`` takes a CSV file or an Excel workbook and creates its accounts,
contracts and scope lines in the background, as the job ``account_import``, all or
nothing as ``flask import accounts`` does.

The page the upload leads to (``/accounts/import/<job_id>``) follows the job, as the
invoice import's does: a bar that moves without reloading, then the counts and the link
to the accounts, or every problem of a refused file by row and column in the reader's
language.
"""

from __future__ import annotations

from portal.models import Role
from portal.onboarding import imports
from portal.uploads import add_import_pages
from portal.web import Blueprint

bp = Blueprint("account_import", __name__)

add_import_pages(bp, "/accounts/import", kind="account_import", roles=(Role.ADMIN,), template="onboarding/import.html",
                 sample="samples/accounts-import.csv", ask_for_import=imports.ask_for_import)
