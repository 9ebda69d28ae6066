"""Finance's page for the invoice import (``portal.billing.imports``): ``/invoices/import``
takes a CSV file or an Excel workbook and imports it in the background, as the job
``invoice_import``, all or nothing as ``flask import invoices`` does.

The page the upload leads to (``/invoices/import/<job_id>``) follows the job: a bar
that moves without reloading (``static/js/jobs.js``), then the counts and the link to
the invoices, or every problem of a refused file by row and column in the reader's
language. In a browser running ``app.js`` a bar shows the upload's progress first;
without scripts the form posts as any other, and reloading shows how far the job got.
Only who started the job (and admins) see it: anyone else gets 404, as for a missing one.
"""

from __future__ import annotations

from portal.billing import imports
from portal.models import Role
from portal.uploads import add_import_pages
from portal.web import Blueprint

bp = Blueprint("invoice_import", __name__)

IMPORTERS = (Role.FINANCE, Role.ADMIN)
add_import_pages(bp, "/invoices/import", kind="invoice_import", roles=IMPORTERS, template="billing/import.html",
                 sample="samples/invoices.csv", ask_for_import=imports.ask_for_import)
