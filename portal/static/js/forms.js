// A form refused by the server comes back with each problem beside its field (the
// field macro marks the field aria-invalid and writes the problem under it). This brings
// the first problem into view and puts the cursor in its field, so that on a long form,
// or on a phone, the user sees at once what to correct. Without this file the page
// works as before: the flash message at the top says that something is wrong.

function fieldOfNote(note) {
  // A list of checkboxes holds its note; any other note follows its field's label.
  const fieldset = note.closest("fieldset");
  if (fieldset) return fieldset.querySelector("input, select, textarea");
  for (let before = note.previousElementSibling; before; before = before.previousElementSibling) {
    const field = before.matches("input, select, textarea") ? before : before.querySelector("input, select, textarea");
    if (field) return field;
  }
  return null;
}

function showFirstProblem() {
  const main = document.querySelector("main") || document.body;
  const marked = main.querySelector('form [aria-invalid="true"]');
  const note = main.querySelector("form small.errors");
  let field = marked;
  // The first in the page's order: a note before any marked field names its own field.
  if (note && (!marked || note.compareDocumentPosition(marked) & Node.DOCUMENT_POSITION_FOLLOWING)) {
    field = fieldOfNote(note) || marked;
  }
  if (!field) return;
  (field.closest("label, fieldset") || field).scrollIntoView({ block: "center" });
  field.focus({ preventScroll: true });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showFirstProblem);
else showFirstProblem();
// An upload's answer replaces the page without loading it (app.js).
document.addEventListener("portal:page-replaced", showFirstProblem);
