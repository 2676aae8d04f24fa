/* The institution page's "Train now": queues a training job (POST /api/v1/risk/models/train, the session and its
   CSRF token), then follows the job (GET /api/v1/jobs/{id}) until it succeeds or fails, showing its progress and
   message; when it is done the dashboard part is re-read ("dashboard:refresh", dashboards.js) so the new version's
   card appears. Listeners sit on the document: the form survives a swap of the dashboard part. */
(function () {
  "use strict";
  const POLL_MS = 1000; // a training run takes minutes; one read a second is plenty and cheap

  function parts(form) {
    return {
      button: form.querySelector("[data-train]"),
      bar: form.querySelector("[data-train-progress]"),
      status: form.querySelector("[data-train-status]"),
      token: form.querySelector("input[name=csrfmiddlewaretoken]"),
    };
  }

  let followed = null; // the job last shown: a patch of the dashboard part re-renders the form, so it is shown again

  function show(form, job) {
    followed = job;
    const shown = parts(form);
    shown.bar.hidden = false;
    shown.bar.value = job.progress || 0;
    shown.bar.textContent = (job.progress || 0) + " %";
    const words = { queued: "Queued", running: "Training", succeeded: "Done", failed: "Failed" }[job.status] || job.status;
    shown.status.textContent = words + " (" + (job.progress || 0) + " %)" + (job.message ? ": " + job.message : "");
  }

  function follow(form, url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(form, job);
        if (job.status === "succeeded" || job.status === "failed") {
          parts(form).button.disabled = false;
          if (job.status === "succeeded") { document.dispatchEvent(new CustomEvent("dashboard:refresh")); }
          return;
        }
        window.setTimeout(function () { follow(form, url); }, POLL_MS);
      })
      .catch(function (error) {
        parts(form).status.textContent = "Could not read the job (" + error.message + "); reload to try again.";
        parts(form).button.disabled = false;
      });
  }

  document.addEventListener("dashboard:updated", function () {
    const form = document.querySelector("form[data-train-form]");
    if (form && followed) { show(form, followed); }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("form[data-train-form]")) { return; }
    event.preventDefault();
    const shown = parts(form);
    shown.button.disabled = true;
    shown.status.textContent = "Queuing…";
    fetch("/api/v1/risk/models/train", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": shown.token ? shown.token.value : "" },
      body: "{}",
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error(body.detail || "HTTP " + response.status); }
          show(form, { status: body.status, progress: 0, message: "" });
          follow(form, body.status_url);
        });
      })
      .catch(function (error) {
        shown.status.textContent = "Not queued: " + error.message;
        shown.button.disabled = false;
      });
  });
})();
