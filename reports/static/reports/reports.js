/* What the report pages share (window.EduReports): calls to the reports API with the session and its CSRF token,
   DRF's field errors shown next to their fields, and "Run": a form[data-run-form] queues a run of its report
   (POST /api/v1/reports/{id}/generate with the format of the button pressed, or of its select), then follows the
   run's job (GET /api/v1/jobs/{job}) with a progress bar until it succeeds or fails, and ends with a link to the
   file (GET /api/v1/reports/runs/{id}). Listeners sit on the document, so forms added later work at once. */
(function () {
  "use strict";
  const POLL_MS = 500; // a report of a class is written in a second or two; a large one reports progress as it goes

  function csrfToken() {
    const field = document.querySelector("[data-reports-csrf] input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // DRF's answer to a refused request in one sentence: {"detail": …} or {"field": ["…"] or {"name": ["…"]}, …}.
  function reason(body, status) {
    if (body && typeof body === "object") {
      if (typeof body.detail === "string") { return body.detail; }
      const parts = Object.keys(body).map(function (name) {
        return (name === "non_field_errors" ? "" : name + ": ") + flatten(body[name]);
      });
      if (parts.length) { return parts.join(" "); }
    }
    return "HTTP " + status;
  }

  function flatten(value) {
    if (Array.isArray(value)) { return value.map(flatten).join(" "); }
    if (value && typeof value === "object") {
      return Object.keys(value).map(function (key) { return key + ": " + flatten(value[key]); }).join(" ");
    }
    return String(value);
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(reason(body, status));
      this.status = status;
      this.body = body;
    }
  }

  // One call to the API; resolves with the JSON answer (null for 204), rejects with an ApiError.
  function api(method, url, body) {
    const headers = { Accept: "application/json" };
    const init = { method: method, credentials: "same-origin", headers: headers };
    if (method !== "GET") { headers["X-CSRFToken"] = csrfToken(); }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      if (response.status === 204) { return null; }
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (!response.ok) { throw new ApiError(response.status, answer); }
        return answer;
      });
    });
  }

  // Every page of a paginated list ({results, next}), up to `most` items.
  function all(url, most) {
    const items = [];
    function page(next) {
      return api("GET", next).then(function (answer) {
        const found = Array.isArray(answer) ? answer : answer.results || [];
        items.push.apply(items, found);
        if (answer.next && items.length < most) { return page(answer.next); }
        return items;
      });
    }
    return page(url);
  }

  // Clear the errors shown in `root`, then show those of a 400 body next to their fields: [data-error-for=name], or
  // for a nested field [data-error-for="parameters.course"]; what has no place goes to "form".
  function clearErrors(root) {
    root.querySelectorAll("[data-error-for]").forEach(function (place) { place.textContent = ""; });
    root.querySelectorAll("[aria-invalid]").forEach(function (field) { field.removeAttribute("aria-invalid"); });
  }

  function showErrors(root, error) {
    clearErrors(root);
    const body = error && error.body;
    if (!body || typeof body !== "object" || error.status !== 400) {
      put(root, "form", error && error.message ? error.message : String(error));
      return;
    }
    // the reports API names a nested field with a dotted name (parameters.course, chart.y)
    Object.keys(body).forEach(function (name) {
      const value = body[name];
      if (name === "detail" || name === "non_field_errors") {
        put(root, "form", flatten(value));
      } else {
        put(root, name, flatten(value));
      }
    });
  }

  function put(root, name, text) {
    let place = root.querySelector('[data-error-for="' + name + '"]');
    const found = Boolean(place);
    if (!place) { place = root.querySelector('[data-error-for="form"]'); }
    if (!place) { return false; }
    place.textContent = (place.textContent ? place.textContent + " " : "") + (found ? "" : name + ": ") + text;
    const field = root.querySelector('[data-field="' + name + '"]');
    if (found && field) { field.setAttribute("aria-invalid", "true"); }
    return found;
  }

  const WORDS = { queued: "Queued", running: "Running", succeeded: "Done", failed: "Failed" };

  function sizeText(bytes) {
    if (bytes === null || bytes === undefined) { return ""; }
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + " kB"; }
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  // Follow a job until it ends: onChange(job) after every read; resolves with the last job.
  function followJob(jobId, onChange) {
    return new Promise(function (resolve, reject) {
      function read() {
        api("GET", "/api/v1/jobs/" + jobId).then(function (job) {
          onChange(job);
          if (job.status === "succeeded" || job.status === "failed") { resolve(job); return; }
          window.setTimeout(read, POLL_MS);
        }).catch(reject);
      }
      read();
    });
  }

  // SECTION: "Run" forms

  function parts(form) {
    return {
      buttons: form.querySelectorAll("button[type=submit]"),
      follow: form.querySelector("[data-run-follow]"),
      bar: form.querySelector("[data-run-progress]"),
      message: form.querySelector("[data-run-message]"),
    };
  }

  function showJob(form, job, format) {
    const shown = parts(form);
    const percent = job.progress || 0;
    form.dataset.runState = job.status;
    shown.follow.hidden = false;
    shown.bar.value = percent;
    shown.bar.textContent = percent + " %";
    shown.message.textContent = format.toUpperCase() + ": " + (WORDS[job.status] || job.status) + " (" + percent + " %)" +
      (job.message ? " · " + job.message : "");
  }

  function showDownload(form, run) {
    const shown = parts(form);
    let link = form.querySelector("a[data-run-download]");
    if (!run.download_url) { return; }
    if (!link) {
      link = document.createElement("a");
      link.setAttribute("data-run-download", "");
      shown.follow.appendChild(document.createTextNode(" "));
      shown.follow.appendChild(link);
    }
    link.href = run.download_url;
    link.textContent = "Download " + run.format.toUpperCase() + " (" + run.row_count + " rows, " + sizeText(run.size_bytes) + ")";
  }

  // On the list, the report's "Last run" cell now tells of this run.
  function updateLastRun(form, run) {
    const row = form.closest("tr[data-report]");
    const summary = row && row.querySelector("[data-last-run-summary]");
    if (!summary) { return; }
    const status = document.createElement("span");
    status.className = "run-status status-" + run.status;
    status.dataset.runStatus = run.status;
    status.textContent = WORDS[run.status] || run.status;
    summary.replaceChildren(status, document.createTextNode(" " + run.format.toUpperCase() + ", just now"));
    if (run.download_url) {
      const link = document.createElement("a");
      link.href = run.download_url;
      link.setAttribute("data-run-download", "");
      link.textContent = "Download";
      summary.append(document.createTextNode(" · "), link);
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("form[data-run-form]")) { return; }
    event.preventDefault();
    const select = form.querySelector("[data-run-format-select]");
    const format = event.submitter && event.submitter.value ? event.submitter.value : select ? select.value : "csv";
    const shown = parts(form);
    const old = form.querySelector("a[data-run-download]");
    if (old) { old.remove(); }
    shown.buttons.forEach(function (button) { button.disabled = true; });
    form.dataset.runState = "queuing";
    shown.follow.hidden = false;
    shown.bar.value = 0;
    shown.message.textContent = format.toUpperCase() + ": queuing…";
    let run = null;
    api("POST", "/api/v1/reports/" + form.dataset.report + "/generate", { format: format })
      .then(function (queued) {
        run = queued;
        form.dataset.run = String(run.id);
        showJob(form, run, format);
        return followJob(run.job, function (job) { showJob(form, job, format); });
      })
      .then(function () { return api("GET", "/api/v1/reports/runs/" + run.id); })
      .then(function (finished) {
        showDownload(form, finished);
        updateLastRun(form, finished);
        document.dispatchEvent(new CustomEvent("reports:run-finished", { detail: finished }));
      })
      .catch(function (error) {
        form.dataset.runState = "failed";
        shown.message.textContent = format.toUpperCase() + ": not run · " + error.message;
      })
      .finally(function () {
        shown.buttons.forEach(function (button) { button.disabled = false; });
      });
  });

  window.EduReports = {
    api: api,
    all: all,
    reason: reason,
    clearErrors: clearErrors,
    showErrors: showErrors,
    followJob: followJob,
    sizeText: sizeText,
    WORDS: WORDS,
  };
})();
