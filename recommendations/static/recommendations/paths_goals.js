/* The student's "Learning paths and goals": set a goal and cancel one, each one call to the goals API
   (/api/v1/recommendations/goals/) with the session and its CSRF token. Afterwards the dashboard part is re-read and
   patched in place ("dashboard:refresh", dashboards.js) where the page has one, else the page reloads, so the list
   shows what the server now holds. The form shows only the fields of the chosen kind. Listeners sit on the document:
   a patched panel works at once. */
(function () {
  "use strict";

  const UNITS = {
    course_completion: "percent of the class's items, 1 to 100 (default 100)",
    weekly_minutes: "active minutes a week, 10 to 3000",
    weekly_xp: "XP a week, 10 to 100000",
  };

  function csrfToken(form) {
    const field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // DRF's answer to a refused request in one sentence: {"detail": …} or {"field": ["…"], …}.
  function reason(body, status) {
    if (body && typeof body === "object") {
      const parts = Object.keys(body).filter(function (name) { return name !== "detail"; }).map(function (name) {
        const value = body[name];
        return (name === "non_field_errors" ? "" : name.replace("_", " ") + ": ") + (Array.isArray(value) ? value.join(" ") : String(value));
      });
      if (parts.length) { return parts.join(" "); }
      if (typeof body.detail === "string") { return body.detail; }
    }
    return "HTTP " + status;
  }

  function call(method, url, form, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(form) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 204) { return null; }
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (!response.ok) { throw new Error(reason(answer, response.status)); }
        return answer;
      });
    });
  }

  function say(form, text, isError) {
    const line = form.querySelector("[data-goal-message]");
    if (!line) { return; }
    line.textContent = text;
    line.classList.toggle("error", Boolean(isError));
    line.hidden = false;
  }

  function refresh() {
    if (document.querySelector("[data-dashboard]")) {
      document.dispatchEvent(new CustomEvent("dashboard:refresh"));
    } else {
      window.location.reload();
    }
  }

  function showFields(form) {
    const kind = form.elements.kind.value;
    form.querySelectorAll("[data-for-kind]").forEach(function (label) {
      label.hidden = label.dataset.forKind.split(" ").indexOf(kind) < 0;
    });
    const unit = form.querySelector("[data-target-unit]");
    if (unit) { unit.textContent = UNITS[kind] ? "(" + UNITS[kind] + ")" : ""; }
    const due = form.querySelector("[data-due-note]");
    if (due) { due.textContent = kind === "course_completion" ? "(required)" : "(optional)"; }
  }

  function body(form) {
    const kind = form.elements.kind.value;
    const given = { kind: kind };
    function wanted(name) {
      const label = form.elements[name] && form.elements[name].closest("[data-for-kind]");
      return label && !label.hidden && form.elements[name].value !== "";
    }
    if (wanted("path")) { given.path = parseInt(form.elements.path.value, 10); }
    if (wanted("course")) { given.course = parseInt(form.elements.course.value, 10); }
    if (wanted("target")) { given.target = Number(form.elements.target.value); }
    if (wanted("due_date")) { given.due_date = form.elements.due_date.value; }
    return given;
  }

  function goalsUrl() { return "/api/v1/recommendations/goals/"; }

  document.addEventListener("change", function (event) {
    const form = event.target.closest && event.target.closest("form[data-goal-form]");
    if (form && event.target.name === "kind") { showFields(form); }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target.closest && event.target.closest("form[data-goal-form]");
    if (!form) { return; }
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    call("POST", goalsUrl(), form, body(form))
      .then(function (goal) { say(form, "Goal set: " + goal.title + "."); form.reset(); showFields(form); refresh(); })
      .catch(function (error) { say(form, error.message, true); })
      .finally(function () { button.disabled = false; });
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-paths-goals] button[data-goal-cancel]");
    if (!button) { return; }
    const form = document.querySelector("form[data-goal-form]");
    if (!form) { return; }
    button.disabled = true;
    call("DELETE", goalsUrl() + button.dataset.goalCancel, form)
      .then(function () { say(form, "Goal cancelled."); refresh(); })
      .catch(function (error) { say(form, error.message, true); })
      .finally(function () { button.disabled = false; });
  });

  function init() { document.querySelectorAll("form[data-goal-form]").forEach(showFields); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
  document.addEventListener("dashboard:updated", init);
})();
