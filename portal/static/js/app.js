// Progressive enhancements only: every page works without this file.
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.requestSubmit();
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Attachments over the limits are refused here, before the upload, so the form keeps
// what was typed; the server checks the same limits (and answers 413) without this file.
document.addEventListener("submit", (event) => {
  for (const input of event.target.querySelectorAll("input[type=file][data-max-bytes]")) {
    const files = Array.from(input.files || []);
    const large = files.find((file) => file.size > Number(input.dataset.maxBytes));
    let problem = "";
    if (files.length > Number(input.dataset.maxFiles)) problem = input.dataset.tooMany;
    else if (large) problem = input.dataset.tooLarge.replace("{name}", large.name);
    let note = input.parentElement.querySelector("small.upload-problem");
    if (!problem) {
      if (note) note.remove();
      input.removeAttribute("aria-invalid");
      continue;
    }
    event.preventDefault();
    if (!note) {
      note = document.createElement("small");
      note.className = "errors upload-problem";
      note.id = `${input.id}-upload-problem`;
      note.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", note);
    }
    note.textContent = problem;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.focus();
    return;
  }
});
