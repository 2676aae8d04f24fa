/* A report's page: its run history (GET /api/v1/reports/{id}/runs, re-read when a run started here ends) with a
   link to each file still kept, and its schedules (GET /api/v1/reports/{id}/schedules; the owner adds one with
   POST, pauses or resumes one with PATCH {enabled} and deletes one with DELETE /api/v1/reports/schedules/{id}).
   "Run now" is reports.js's. */
(function () {
  "use strict";
  const R = window.EduReports;
  const history = document.querySelector("[data-run-history]");
  const schedules = document.querySelector("[data-schedules]");

  function when(iso) {
    if (!iso) { return "—"; }
    const moment = new Date(iso);
    return isNaN(moment) ? iso : moment.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function cell(row, content, attribute) {
    const td = document.createElement("td");
    if (content instanceof Node) { td.appendChild(content); } else { td.textContent = content; }
    if (attribute) { td.setAttribute(attribute, ""); }
    row.appendChild(td);
    return td;
  }

  function table(caption, headings) {
    const element = document.createElement("table");
    const captionElement = document.createElement("caption");
    captionElement.className = "visually-hidden";
    captionElement.textContent = caption;
    element.appendChild(captionElement);
    const head = document.createElement("tr");
    headings.forEach(function (text) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    });
    element.createTHead().appendChild(head);
    element.appendChild(document.createElement("tbody"));
    return element;
  }

  // SECTION: run history

  function showRuns(runs) {
    if (!runs.length) {
      const none = document.createElement("p");
      none.className = "muted";
      none.setAttribute("data-history-state", "empty");
      none.textContent = "Not run yet.";
      history.replaceChildren(none);
      return;
    }
    const element = table("Runs of this report, newest first", ["Asked", "Format", "Version", "Status", "Rows", "File", "Downloads"]);
    element.setAttribute("data-table", "runs");
    const body = element.tBodies[0];
    runs.forEach(function (run) {
      const row = document.createElement("tr");
      row.setAttribute("data-run", String(run.id));
      row.setAttribute("data-run-status", run.status);
      cell(row, when(run.created_at) + (run.schedule ? " (scheduled)" : ""));
      cell(row, run.format.toUpperCase());
      cell(row, String(run.version));
      const status = document.createElement("span");
      status.className = "run-status status-" + run.status;
      status.textContent = (R.WORDS[run.status] || run.status) + (run.status === "running" ? " (" + run.progress + " %)" : "");
      if (run.message) { status.title = run.message; }
      const statusCell = cell(row, status);
      if (run.status === "failed" && run.message) {
        const why = document.createElement("span");
        why.className = "muted";
        why.textContent = " " + run.message;
        statusCell.appendChild(why);
      }
      cell(row, run.row_count === null ? "—" : String(run.row_count));
      if (run.download_url) {
        const link = document.createElement("a");
        link.href = run.download_url;
        link.setAttribute("data-history-download", "");
        link.textContent = "Download (" + R.sizeText(run.size_bytes) + ")";
        link.title = "Kept until " + when(run.expires_at);
        cell(row, link);
      } else {
        cell(row, run.status === "succeeded" ? "Expired" : "—");
      }
      cell(row, String(run.downloads));
      body.appendChild(row);
    });
    history.replaceChildren(element);
  }

  function loadRuns() {
    return R.api("GET", "/api/v1/reports/" + history.dataset.report + "/runs")
      .then(function (answer) { showRuns(answer.runs); })
      .catch(function (error) {
        const failed = document.createElement("p");
        failed.className = "error";
        failed.textContent = "Could not read the runs: " + error.message;
        history.replaceChildren(failed);
      });
  }

  if (history) {
    loadRuns();
    document.addEventListener("reports:run-finished", loadRuns);
  }

  // SECTION: schedules

  if (!schedules) { return; }
  const list = schedules.querySelector("[data-schedule-list]");
  const editable = schedules.dataset.editable === "1";
  const newBox = schedules.querySelector("[data-schedule-new]");
  const scheduleForm = schedules.querySelector("form[data-schedule-form]");

  function lastRunText(schedule) {
    if (!schedule.last_run_at) { return "Not run yet"; }
    let text = when(schedule.last_run_at) + (schedule.last_status ? ": " + schedule.last_status : "");
    if (schedule.last_error) { text += " · " + schedule.last_error; }
    const delivery = (schedule.deliveries || [])[0];
    if (delivery) { text += " · latest e-mail to " + delivery.recipient.name + ": " + delivery.status; }
    return text;
  }

  function button(text, attribute, value) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = "small-button";
    element.setAttribute(attribute, String(value));
    element.textContent = text;
    return element;
  }

  function showSchedules(found) {
    if (!found.length) {
      const none = document.createElement("p");
      none.className = "muted";
      none.setAttribute("data-schedule-state", "empty");
      none.textContent = "No schedules.";
      list.replaceChildren(none);
      return;
    }
    const headings = ["When", "Format", "Recipients", "Run as", "If empty", "Next run", "Last run"];
    if (editable) { headings.push(""); }
    const element = table("Schedules of this report", headings);
    element.setAttribute("data-table", "schedules");
    found.forEach(function (schedule) {
      const row = document.createElement("tr");
      row.setAttribute("data-schedule", String(schedule.id));
      row.setAttribute("data-enabled", String(schedule.enabled));
      cell(row, schedule.description + (schedule.enabled ? "" : " (paused)"));
      cell(row, String(schedule.format).toUpperCase());
      cell(row, schedule.recipients.map(function (each) { return each.name; }).join(", ") || "—");
      cell(row, schedule.run_as === "owner" ? "The owner" : "Each recipient");
      cell(row, schedule.when_empty === "skip" ? "Skip" : "Send");
      cell(row, schedule.enabled ? when(schedule.next_run_at) : "—");
      cell(row, lastRunText(schedule));
      if (editable && schedule.editable) {
        const actions = document.createElement("span");
        actions.append(
          button(schedule.enabled ? "Pause" : "Resume", "data-schedule-enable", schedule.enabled ? "false" : "true"),
          button("Delete", "data-schedule-delete", schedule.id)
        );
        cell(row, actions);
      } else if (editable) {
        cell(row, "");
      }
      element.tBodies[0].appendChild(row);
    });
    list.replaceChildren(element);
  }

  function loadSchedules() {
    return R.api("GET", "/api/v1/reports/" + schedules.dataset.report + "/schedules")
      .then(function (answer) {
        showSchedules(answer.schedules);
        if (newBox) { newBox.hidden = false; }
      })
      .catch(function (error) {
        const failed = document.createElement("p");
        failed.className = "muted";
        failed.setAttribute("data-schedule-state", "unavailable");
        failed.textContent = "Could not read the schedules: " + error.message;
        list.replaceChildren(failed);
      });
  }

  loadSchedules();

  list.addEventListener("click", function (event) {
    const target = event.target.closest("button[data-schedule-delete], button[data-schedule-enable]");
    if (!target) { return; }
    const id = target.closest("tr[data-schedule]").dataset.schedule;
    let call;
    if (target.hasAttribute("data-schedule-delete")) {
      if (!window.confirm("Delete this schedule? It will no longer run.")) { return; }
      call = R.api("DELETE", "/api/v1/reports/schedules/" + id);
    } else {
      call = R.api("PATCH", "/api/v1/reports/schedules/" + id, { enabled: target.dataset.scheduleEnable === "true" });
    }
    target.disabled = true;
    call.then(loadSchedules).catch(function (error) {
      target.disabled = false;
      window.alert("Not changed: " + error.message);
    });
  });

  function showRecurrenceFields() {
    const recurrence = scheduleForm.querySelector("[name=recurrence]").value;
    scheduleForm.querySelectorAll("[data-for-recurrence]").forEach(function (box) {
      box.hidden = box.dataset.forRecurrence !== recurrence;
    });
    scheduleForm.querySelectorAll("[data-not-for-recurrence]").forEach(function (box) {
      box.hidden = box.dataset.notForRecurrence === recurrence;
    });
  }

  if (scheduleForm) {
    showRecurrenceFields();
    scheduleForm.querySelector("[name=recurrence]").addEventListener("change", showRecurrenceFields);
    scheduleForm.addEventListener("submit", function (event) {
      event.preventDefault();
      const value = function (name) { return scheduleForm.querySelector("[name=" + name + "]").value.trim(); };
      const recurrence = value("recurrence");
      const body = {
        recurrence: recurrence,
        timezone: value("timezone"),
        format: value("format"),
        run_as: value("run_as"),
        when_empty: value("when_empty"),
        recipients: value("recipients").split(",").map(function (each) { return each.trim(); })
          .filter(Boolean).map(Number),
      };
      if (recurrence === "cron") { body.cron = value("cron"); } else { body.time = value("time"); }
      if (recurrence === "weekly") { body.weekday = Number(value("weekday")); }
      if (recurrence === "monthly") { body.day_of_month = Number(value("day_of_month")); }
      R.clearErrors(scheduleForm);
      const button = scheduleForm.querySelector("[data-schedule-save]");
      button.disabled = true;
      R.api("POST", "/api/v1/reports/" + schedules.dataset.report + "/schedules", body)
        .then(function () { newBox.open = false; return loadSchedules(); })
        .catch(function (error) { R.showErrors(scheduleForm, error); })
        .finally(function () { button.disabled = false; });
    });
  }
})();
