/* The Integrations page's sync progress: when the page shows a queued or running sync job, follow it
   (GET /api/v1/jobs/{id}, the session's cookie) and show its progress and message; once it ends, reload the page
   once so the course table shows what the sync wrote. Without JavaScript the page shows the job as it was when
   rendered, and a reload shows it again. */
(function () {
  "use strict";
  const POLL_MS = 1500; // a sync of a few courses takes seconds to minutes; this is plenty and cheap
  const WORDS = { queued: "Queued", running: "Syncing", succeeded: "Done", failed: "Failed" };
  const shown = document.querySelector("[data-sync-job]");
  if (!shown) { return; }
  const active = function (status) { return status === "queued" || status === "running"; };
  if (!active(shown.dataset.jobStatus)) { return; }

  const words = shown.querySelector("[data-job-words]");
  const bar = shown.querySelector("[data-job-progress]");
  const message = shown.querySelector("[data-job-message]");

  function show(job) {
    const percent = job.progress || 0;
    words.textContent = WORDS[job.status] || job.status;
    words.className = "status-" + job.status;
    bar.value = percent;
    bar.textContent = percent + " %";
    message.textContent = percent + " %" + (job.message ? ": " + job.message : "");
  }

  function follow() {
    fetch(shown.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (active(job.status)) {
          window.setTimeout(follow, POLL_MS);
        } else {
          window.location.reload(); // the server now renders the finished job, so this happens once
        }
      })
      .catch(function (error) {
        message.textContent = "Could not read the sync's progress (" + error.message + "); reload to try again.";
      });
  }

  window.setTimeout(follow, POLL_MS);
})();
