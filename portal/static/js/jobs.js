// The progress of a background job this page started (portal/jobs): an element with
// data-job (the URL of the job's status) holds a <progress>, a [data-job-message] and a
// hidden [data-job-result] link, and may hold a hidden [data-job-problems] table that
// lists a refused import's problems (row, column, message). Polled until the job is
// finished or failed; without this file the page shows the state it was served with,
// and reloading it shows how far it got.
const DONE = ["finished", "failed"];

function follow(box) {
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
    if (job.status === "finished" && job.result_url) {
      result.href = job.result_url;
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
