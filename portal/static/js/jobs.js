// The progress of a background job this page started (portal/jobs): an element with
// data-job (the URL of the job's status) holds a <progress>, a [data-job-message] and a
// hidden [data-job-result] link. Polled until the job is finished or failed; without this
// file the page shows the state it was served with, and reloading it shows how far it got.
const DONE = ["finished", "failed"];

function follow(box) {
  const bar = box.querySelector("progress");
  const message = box.querySelector("[data-job-message]");
  const result = box.querySelector("[data-job-result]");
  let wait = 400;

  function show(job) {
    box.dataset.status = job.status;
    bar.value = job.progress;
    message.textContent = job.message;
    if (job.status === "finished" && job.result_url) {
      result.href = job.result_url;
      result.hidden = false;
    }
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

document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-job]")) follow(box);
});
