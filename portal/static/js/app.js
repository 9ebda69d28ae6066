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

// An import's file goes up with a progress bar (a form with data-upload-progress): the bar
// follows the upload, then shows the server at work (no value: indeterminate); its answer,
// the next page or this one listing the file's problems, replaces the page. The checks
// above come first: a file they refuse is not sent. Without this file the form posts as usual.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !form.matches("form[data-upload-progress]")) return;
  event.preventDefault();
  const box = form.querySelector(".upload-progress");
  const bar = box.querySelector("progress");
  const status = box.querySelector("[role=status]");
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    bar.max = progress.total;
    bar.value = progress.loaded;
  });
  xhr.upload.addEventListener("load", () => {
    bar.removeAttribute("value");
    status.textContent = status.dataset.processing;
  });
  xhr.addEventListener("load", () => showAnswer(xhr));
  xhr.addEventListener("error", () => HTMLFormElement.prototype.submit.call(form));  // as without this file
  box.hidden = false;
  status.textContent = status.dataset.uploading;
  form.setAttribute("aria-busy", "true");
  for (const button of form.querySelectorAll("[type=submit]")) button.disabled = true;
  xhr.send(new FormData(form));
});

// The page a form's XHR led to, in place of this one, at its address: a redirect's target
// has read its flashed message already, so it is shown from the answer, not loaded again.
// Its scripts do not run again: "portal:page-replaced" tells them (jobs.js follows the
// job an upload started).
function showAnswer(xhr) {
  const answer = new DOMParser().parseFromString(xhr.responseText, "text/html");
  document.title = answer.title;
  document.body.replaceWith(document.adoptNode(answer.body));
  if (xhr.responseURL && xhr.responseURL !== window.location.href) {
    window.history.pushState(null, "", xhr.responseURL);
    window.addEventListener("popstate", () => window.location.reload(), { once: true });
  }
  window.scrollTo(0, 0);
  document.dispatchEvent(new Event("portal:page-replaced"));
}
