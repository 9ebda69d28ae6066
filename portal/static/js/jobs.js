// The progress of a background job this page started (portal/jobs): an element with
// data-job (the URL of the job's status) holds a <progress>, a [data-job-message] and a
// hidden [data-job-result] link, and may hold a hidden [data-job-problems] table that
// lists a refused import's problems (row, column, message). Polled until the job is
// finished or failed; without this file the page shows the state it was served with,
// and reloading it shows how far it got.
const DONE = ["finished", "failed"];

function follow(box, job) {
  const bar = box.querySelector("progress");
  const message = box.querySelector("[data-job-message]");
  const result = box.querySelector("[data-job-result]");
  const problems = box.querySelector("[data-job-problems]");
  let wait = 400;

  function listProblems(list) {
    const labels = Array.from(problems.querySelectorAll("thead th"), (th) => th.textContent);
    const rows = list.map((problem) => {
      const row = document.createElement("tr");
      [problem.row || "—", problem.column, problem.message].forEach((text, index) => {
        const cell = document.createElement("td");
        cell.dataset.label = labels[index] || "";
        if (index === 1) {
          const code = document.createElement("code");
          code.textContent = text;
          cell.append(code);
        } else {
          cell.textContent = text;
        }
        if (index === 0) cell.className = "nowrap";
        row.append(cell);
      });
      return row;
    });
    problems.querySelector("tbody").replaceChildren(...rows);
    problems.hidden = false;
  }

  function show(job) {
    box.dataset.status = job.status;
    bar.value = job.progress;
    message.textContent = job.message;
    if (job.status === "finished" && (job.result_url || result.getAttribute("href"))) {
      // A result link that names its target already keeps it (a document's PDF: the job
      // made it for every document of that file, and its own link is for the first).
      if (!result.getAttribute("href")) result.href = job.result_url;
      result.hidden = false;
    }
    if (problems && job.problems && job.problems.length) listProblems(job.problems);
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.job, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return; // signed out, or not this user's job: nothing more to show
      show(await response.json());
    } catch (error) {
      wait = 5000; // the portal did not answer: try again a little later
    }
    if (!DONE.includes(box.dataset.status)) {
      window.setTimeout(poll, wait);
      wait = Math.min(wait * 1.5, 3000);
    }
  }

  if (job) show(job);
  if (!DONE.includes(box.dataset.status)) window.setTimeout(poll, 200);
}

// Each box once: on load, and when app.js puts a form's answer in place of the page (an
// upload that led to its job's page), whose scripts do not run again.
function followAll() {
  for (const box of document.querySelectorAll("[data-job]:not([data-followed])")) {
    box.dataset.followed = "";
    follow(box);
  }
}

document.addEventListener("DOMContentLoaded", followAll);
document.addEventListener("portal:page-replaced", followAll);

// A link to something a job may first have to make (a document's PDF): a[data-job-link]
// whose aria-controls names a hidden box like the one above, [data-job-box]. A click asks
// for the link's URL as JSON: when it is ready it is opened as usual; else (202 with
// {job, status_url}) the box shows the job's progress, then its result link. Without this
// file the link opens a page with the progress bar.
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a[data-job-link]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const box = document.getElementById(link.getAttribute("aria-controls") || "");
  if (!box || box.dataset.status === "finished") return; // made meanwhile: a plain link now
  event.preventDefault();
  if (box.dataset.job && box.dataset.status !== "failed") return; // followed already
  const asking = new AbortController();
  let response;
  try {
    response = await fetch(link.href, { headers: { Accept: "application/json" }, cache: "no-store", signal: asking.signal });
  } catch (error) {
    window.location.assign(link.href);
    return;
  }
  if (response.status !== 202) {
    asking.abort(); // the file itself (ready), or an error page: let the browser open it
    window.location.assign(link.href);
    return;
  }
  const answer = await response.json();
  box.dataset.job = answer.status_url;
  box.dataset.followed = "";
  box.hidden = false;
  follow(box, answer.job);
});
