/* The class page's "Students at risk": feedback on a prediction, acknowledging and resolving an alert and logging an
   intervention, each one call to the risk API (/api/v1/risk/…) with the session and its CSRF token; then the
   dashboard part is re-read and patched in place ("dashboard:refresh", dashboards.js), so the row shows what the
   server now holds. Buttons keep their element across patches (dashboards.js leaves form controls alone), so what
   they act on is read from their row (data-prediction, data-alert) and the pressed verdict from data-verdict.
   Listeners sit on the document: rows added by a live `alert` work at once. "Ideas" on an alert reads the assistant's
   intervention ideas (GET /api/v1/recommendations/alerts/{id}/ideas: Gemini's when the school turned it on, else
   EduPath's from the alert's factors; the note says which) into the row; a patch renders that box empty, so what was
   read is kept per alert and put back after each patch. */
(function () {
  "use strict";

  let toast = null;
  // One status line outside the dashboard part: a patch must not wipe what the teacher was just told.
  function say(text, isError) {
    if (!toast) {
      toast = document.createElement("p");
      toast.className = "risk-toast";
      toast.setAttribute("role", "status");
      toast.setAttribute("data-risk-toast", "");
      document.body.appendChild(toast);
    }
    toast.textContent = text;
    toast.classList.toggle("error", Boolean(isError));
    toast.hidden = false;
  }

  function csrfToken() {
    const field = document.querySelector("[data-risk-csrf] input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // DRF's answer to a refused request in one sentence: {"detail": …} or {"field": ["…"], …}.
  function reason(body, status) {
    if (body && typeof body === "object") {
      if (typeof body.detail === "string") { return body.detail; }
      const parts = Object.keys(body).map(function (name) {
        const value = body[name];
        return (name === "non_field_errors" ? "" : name + ": ") + (Array.isArray(value) ? value.join(" ") : String(value));
      });
      if (parts.length) { return parts.join(" "); }
    }
    return "HTTP " + status;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (!response.ok) { throw new Error(reason(answer, response.status)); }
        return answer;
      });
    });
  }

  function refresh() { document.dispatchEvent(new CustomEvent("dashboard:refresh")); }

  function showVerdicts() {
    document.querySelectorAll("[data-risk-section] tr[data-prediction]").forEach(function (row) {
      row.querySelectorAll("button[data-verdict-choice]").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.verdictChoice === row.dataset.verdict));
      });
    });
  }

  function studentName(row) {
    const header = row.querySelector("th[scope=row]");
    return header ? header.textContent.trim() : "the student";
  }

  // ---- Intervention ideas per alert ----
  const ideas = new Map(); // alert id -> the ideas API's answer
  const openIdeas = new Set(); // alert ids whose ideas the teacher has open

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (!response.ok) { throw new Error(reason(answer, response.status)); }
        return answer;
      });
    });
  }

  function ideasBox(answer) {
    const list = document.createElement("ul");
    list.setAttribute("data-ideas-list", "");
    answer.ideas.forEach(function (text) {
      const item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    if (!answer.ideas.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No ideas for this alert.";
      list.appendChild(none);
    }
    const note = document.createElement("p");
    note.className = "muted small";
    note.setAttribute("data-ideas-note", "");
    note.textContent = answer.note || (answer.source === "gemini" ? "Written by Gemini." : "Written by EduPath.");
    return [list, note];
  }

  // The row's "Ideas" button and box as the teacher left them (after a click, or after a patch re-rendered the box).
  function showIdeas(row) {
    const button = row.querySelector("button[data-alert-ideas-button]");
    const box = row.querySelector("[data-alert-ideas]");
    const alert = row.dataset.alert;
    if (!button || !box || !alert) { return; }
    const shown = openIdeas.has(alert) && ideas.has(alert);
    button.setAttribute("aria-controls", "ideas-" + alert);
    button.setAttribute("aria-expanded", String(shown));
    button.textContent = shown ? "Hide ideas" : "Ideas";
    if (!shown) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const answer = ideas.get(alert);
    box.dataset.source = answer.source;
    box.replaceChildren.apply(box, ideasBox(answer));
    box.hidden = false;
  }

  function showAllIdeas() {
    document.querySelectorAll("[data-risk-section] tr[data-alert]").forEach(showIdeas);
  }

  function busy(button, promise) {
    button.disabled = true;
    return promise.finally(function () { button.disabled = false; });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-risk-section] button");
    if (!button) { return; }
    const row = button.closest("tr[data-prediction]");
    if (!row) { return; }
    if (button.dataset.verdictChoice) {
      const verdict = button.dataset.verdictChoice;
      busy(button, post("/api/v1/risk/feedback", { prediction: parseInt(row.dataset.prediction, 10), verdict: verdict })
        .then(function () {
          row.dataset.verdict = verdict;
          showVerdicts();
          say("Feedback saved for " + studentName(row) + ": " + button.textContent.trim().toLowerCase() + ".");
          refresh();
        })
        .catch(function (error) { say("Feedback not saved: " + error.message, true); }));
    } else if (button.dataset.alertAction && row.dataset.alert) {
      const action = button.dataset.alertAction;
      busy(button, post("/api/v1/risk/alerts/" + row.dataset.alert + "/" + action, {})
        .then(function () {
          say("Alert for " + studentName(row) + (action === "resolve" ? " resolved." : " acknowledged."));
          refresh();
        })
        .catch(function (error) { say("Alert not changed: " + error.message, true); }));
    } else if (button.hasAttribute("data-alert-ideas-button") && row.dataset.alert) {
      const alert = row.dataset.alert;
      if (openIdeas.has(alert)) {
        openIdeas.delete(alert);
        showIdeas(row);
      } else if (ideas.has(alert)) {
        openIdeas.add(alert);
        showIdeas(row);
      } else {
        button.textContent = "Loading ideas…";
        busy(button, getJson("/api/v1/recommendations/alerts/" + encodeURIComponent(alert) + "/ideas")
          .then(function (answer) {
            ideas.set(alert, answer);
            openIdeas.add(alert);
          })
          .catch(function (error) { say("No ideas: " + error.message, true); })
          .finally(function () {
            // the row may have been patched meanwhile: show what is known in the row that holds this alert now
            const current = document.querySelector("[data-risk-section] tr[data-alert='" + alert + "']");
            if (current) { showIdeas(current); }
            if (current !== row) { showIdeas(row); }
          }));
      }
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("[data-risk-section] form[data-intervention-form]")) { return; }
    event.preventDefault();
    const row = form.closest("tr[data-prediction]");
    const error = form.querySelector("[data-intervention-error]");
    const submit = form.querySelector("[data-intervention-submit]");
    const fields = new FormData(form);
    const body = { alert: parseInt(row.dataset.alert, 10), kind: fields.get("kind"), note: fields.get("note") || "" };
    if (body.kind === "message") {
      body.subject = fields.get("subject") || "";
      body.body = fields.get("body") || "";
    }
    if (error) { error.textContent = ""; }
    busy(submit, post("/api/v1/risk/interventions", body)
      .then(function () {
        form.reset();
        const details = form.closest("details");
        if (details) { details.open = false; }
        say("Intervention logged for " + studentName(row) + (body.kind === "message" ? "; the message was sent." : "."));
        refresh();
      })
      .catch(function (failure) {
        if (error) { error.textContent = failure.message; }
        say("Intervention not logged: " + failure.message, true);
      }));
  });

  document.addEventListener("dashboard:updated", showVerdicts);
  document.addEventListener("dashboard:updated", showAllIdeas);
  document.addEventListener("DOMContentLoaded", showVerdicts);
})();
