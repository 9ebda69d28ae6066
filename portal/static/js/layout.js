// The layout on a phone (app.css, "Phone layout"). Progressive: without this file the
// menu is always shown and tables scroll inside their own box.

// The header's menu: on a narrow screen the button shows and hides the navigation and
// the header's tools; Escape closes it and gives the focus back to the button.
(() => {
  const button = document.querySelector(".menu-toggle");
  if (!button) return;
  const header = button.closest(".site-header");
  const show = (open) => {
    button.setAttribute("aria-expanded", String(open));
    header.classList.toggle("menu-open", open);
  };
  button.addEventListener("click", () => show(button.getAttribute("aria-expanded") !== "true"));
  header.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !header.classList.contains("menu-open")) return;
    show(false);
    button.focus();
  });
})();

// On a phone a table's rows become cards of labelled cells: each cell without a
// data-label of its own gets its column's header (colspans counted), which app.css
// shows before the value; a blank cell is marked, and left out of the card. Tables marked .keep-columns stay tables (they scroll in
// their box). The labels are set once; a table written later (jobs.js) labels its own.
function labelCells(table) {
  const head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
  if (!head) return;
  const columns = [];
  for (const cell of head.cells) {
    for (let i = 0; i < cell.colSpan; i += 1) columns.push(cell.textContent.trim());
  }
  for (const body of table.tBodies) {
    for (const row of body.rows) {
      let column = 0;
      for (const cell of row.cells) {
        if (cell.colSpan === 1 && !cell.hasAttribute("data-label") && columns[column]) {
          cell.dataset.label = columns[column];
        }
        if (!cell.textContent.trim() && !cell.children.length) cell.dataset.blank = "";  // no card line for it
        column += cell.colSpan;
      }
    }
  }
}

document.querySelectorAll(".table-wrap > table:not(.keep-columns)").forEach(labelCells);
