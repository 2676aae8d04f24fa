/* A student page's "Next steps" (recommendations/_next_steps.html). The student marks a step helpful or not
   (POST /api/v1/recommendations/feedback), opens one (POST …/{id}/open) or dismisses one (POST …/{id}/dismiss,
   whose answer is the new list: the panel is re-rendered from it in place, the dismissed step gone and the next in
   line shown). The explanation line is read from GET …/explanation, with its note (Gemini's words, or EduPath's and
   why). Live: when the page's stream (dashboards.js, "live:message") says the student's next steps were refreshed,
   the list (and for staff "Recommended before") is read again from GET /api/v1/recommendations/ and re-rendered;
   after a reconnect too, as messages sent meanwhile are not replayed. The markup built here is the template's. */
(function () {
  "use strict";

  const API = "/api/v1/recommendations/";
  const VERDICTS = { helpful: "Helpful", not_helpful: "Not helpful", irrelevant: "Irrelevant" };
  const COMMENT_SHOWN = 80; // as dashboards.recommendation_parts.COMMENT_SHOWN

  function capfirst(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) : ""; }

  function element(name, attributes, children) {
    const node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) {
      if (attributes[key] !== null && attributes[key] !== undefined) { node.setAttribute(key, attributes[key]); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === "") { return; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // DRF's answer to a refused request in one sentence: {"detail": …} or {"field": ["…"], …}.
  function reason(body, status) {
    if (body && typeof body === "object") {
      if (typeof body.detail === "string") { return body.detail; }
      const parts = Object.keys(body).map(function (name) {
        const value = body[name];
        return (name === "non_field_errors" ? "" : name.replace("_", " ") + ": ") + (Array.isArray(value) ? value.join(" ") : String(value));
      });
      if (parts.length) { return parts.join(" "); }
    }
    return "HTTP " + status;
  }

  function panel(section) {
    const own = section.dataset.own === "true";
    const student = section.dataset.student;
    const limit = parseInt(section.dataset.limit || "5", 10);
    const list = section.querySelector("[data-list=next-steps]");
    const status = section.querySelector("[data-next-steps-status]");
    const explanation = section.querySelector("[data-next-steps-explanation]");
    const history = section.querySelector("[data-next-steps-history]");
    const codesSource = document.getElementById("next-steps-courses");
    const codes = codesSource ? JSON.parse(codesSource.textContent) : {};
    let dateFormat;
    try {
      dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: section.dataset.zone || undefined });
    } catch (error) {
      dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" });
    }

    function csrfToken() {
      const field = section.querySelector("[data-next-steps-csrf] input[name=csrfmiddlewaretoken]");
      return field ? field.value : "";
    }

    function call(method, url, body) {
      const headers = { Accept: "application/json" };
      if (method !== "GET") {
        headers["Content-Type"] = "application/json";
        headers["X-CSRFToken"] = csrfToken();
      }
      return fetch(url, {
        method: method,
        credentials: "same-origin",
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (answer) {
          if (!response.ok) { throw new Error(reason(answer, response.status)); }
          return answer;
        });
      });
    }

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
      status.hidden = false;
    }

    function studentQuery() { return own ? "" : "student=" + encodeURIComponent(student); }

    // ---- rendering (the template's markup) ----
    function where(row) {
      const code = codes[String(row.course)] || "";
      return code + (code && row.description ? " · " : "") + (row.description || "");
    }

    function timeText(row) {
      if (!row.estimated_time) { return ["—"]; }
      const text = ["about " + row.estimated_time + " min"];
      if (row.estimated_time_source === "classmates") {
        text.push(" ", element("span", { class: "muted" }, ["(classmates' median)"]));
      }
      return text;
    }

    function fact(label, attribute, content) {
      const value = element("dd", {}, content);
      value.setAttribute(attribute, "");
      return element("div", {}, [element("dt", {}, [label]), value]);
    }

    function pressed(value) { return value ? "true" : "false"; }

    function actions(row) {
      const helpful = row.feedback ? row.feedback.helpful : null;
      return element("div", { class: "next-step-actions", role: "group", "aria-label": row.title }, [
        element("button", { type: "button", class: "small-button", "data-next-step-action": "open" }, [row.clicked_at ? "Opened" : "Open"]),
        " ",
        element("button", { type: "button", class: "small-button choice", "data-next-step-action": "helpful", "aria-pressed": pressed(helpful === true) }, ["Helpful"]),
        " ",
        element("button", { type: "button", class: "small-button choice", "data-next-step-action": "not_helpful", "aria-pressed": pressed(helpful === false) }, ["Not helpful"]),
        " ",
        element("button", { type: "button", class: "small-button link-button", "data-next-step-action": "dismiss" }, ["Dismiss"]),
      ]);
    }

    function item(row) {
      const category = capfirst(row.category) + (row.kind && row.kind !== row.category ? " · " + row.kind : "");
      return element("li", { class: "next-step", "data-recommendation": row.id, "data-category": row.category }, [
        element("div", { class: "next-step-head" }, [
          element("strong", { class: "next-step-title", "data-next-step-title": "" }, [row.title]),
          " ",
          element("span", { class: "next-step-tag tag-" + row.category, "data-next-step-category": "" }, [category]),
        ]),
        element("p", { class: "muted small next-step-where" }, [where(row)]),
        element("p", { class: "next-step-reason", "data-next-step-reason": "" }, [row.reasoning]),
        element("dl", { class: "next-step-facts" }, [
          fact("Difficulty", "data-next-step-difficulty", [capfirst(row.difficulty) || "—"]),
          fact("Time", "data-next-step-time", timeText(row)),
          fact("Relevance", "data-next-step-relevance", [Math.round(row.relevance_score * 100) + " %"]),
        ]),
        own ? actions(row) : null,
      ]);
    }

    function render(rows) {
      const shown = rows.slice(0, limit);
      const items = shown.length
        ? shown.map(item)
        : [element("li", { class: "muted", "data-next-steps-empty": "" }, [list.dataset.emptyText || "No next steps right now."])];
      list.replaceChildren.apply(list, items);
      explanation.hidden = shown.length === 0;
      return shown;
    }

    function date(value) {
      if (!value) { return "—"; }
      return element("time", { datetime: value }, [dateFormat.format(new Date(value))]);
    }

    function feedbackText(feedback) {
      if (!feedback) { return ""; }
      const parts = [];
      if (feedback.rating !== null && feedback.rating !== undefined) { parts.push(feedback.rating + "/5"); }
      if (feedback.feedback) {
        parts.push(VERDICTS[feedback.feedback] || feedback.feedback);
      } else if (feedback.helpful !== null && feedback.helpful !== undefined) {
        parts.push(feedback.helpful ? "Helpful" : "Not helpful");
      }
      const comments = (feedback.comments || "").trim();
      if (comments) {
        parts.push("“" + (comments.length <= COMMENT_SHOWN ? comments : comments.slice(0, COMMENT_SHOWN - 1) + "…") + "”");
      }
      return parts.join(" · ");
    }

    function renderHistory(rows) {
      if (!history) { return; }
      const body = rows.length ? rows.map(function (row) {
        const code = codes[String(row.course)] || "";
        return element("tr", { "data-row": row.id, "data-status": row.status }, [
          element("td", {}, [date(row.created)]),
          element("th", { scope: "row" }, [row.title, " ", element("span", { class: "muted small" }, [capfirst(row.category) + (code ? " · " + code : "")])]),
          element("td", {}, [element("span", { class: "next-step-status status-" + row.status }, [capfirst(row.status)])]),
          element("td", {}, [date(row.shown_at)]),
          element("td", {}, [date(row.clicked_at)]),
          element("td", {}, [date(row.dismissed_at)]),
          element("td", {}, [date(row.completed_at)]),
          element("td", { "data-next-step-feedback": "" }, [feedbackText(row.feedback) || "—"]),
        ]);
      }) : [element("tr", {}, [element("td", { colspan: "8", class: "muted" }, ["Nothing recommended yet."])])];
      history.replaceChildren.apply(history, body);
    }

    // ---- reading ----
    let explained = 0; // the newest explanation asked for wins
    function explain() {
      if (explanation.hidden) { return; }
      const asked = ++explained;
      const text = explanation.querySelector("[data-explanation-text]");
      const note = explanation.querySelector("[data-explanation-note]");
      const query = studentQuery();
      call("GET", API + "explanation" + (query ? "?" + query : ""))
        .then(function (answer) {
          if (asked !== explained) { return; }
          text.textContent = answer.text;
          note.textContent = answer.note || "";
          explanation.dataset.source = answer.source;
          clamp();
        })
        .catch(function () {
          if (asked !== explained) { return; }
          text.textContent = "The reasons are listed with each next step.";
          note.textContent = "";
          clamp();
        });
    }

    // Three lines of the explanation, and "Read all" when there is more (the local text names every step's facts).
    const more = explanation.querySelector("[data-explanation-more]");
    function clamp() {
      if (!more) { return; }
      explanation.classList.remove("expanded");
      more.setAttribute("aria-expanded", "false");
      more.textContent = "Read all";
      const text = explanation.querySelector("[data-explanation-text]");
      more.hidden = text.scrollHeight <= text.clientHeight + 1;
    }
    if (more) {
      more.addEventListener("click", function () {
        const expanded = explanation.classList.toggle("expanded");
        more.setAttribute("aria-expanded", String(expanded));
        more.textContent = expanded ? "Show less" : "Read all";
      });
    }

    let reading = false;
    let again = false;
    function reread() {
      if (reading) { again = true; return; }
      reading = true;
      const query = studentQuery();
      const reads = [call("GET", API + "?limit=" + limit + (query ? "&" + query : ""))];
      if (history) { reads.push(call("GET", API + "?history=true&limit=30&" + query)); }
      Promise.all(reads)
        .then(function (answers) {
          render(answers[0].recommendations);
          if (answers[1]) { renderHistory(answers[1].recommendations); }
          explain();
          section.dispatchEvent(new CustomEvent("next-steps:updated", { bubbles: true }));
        })
        .catch(function (error) { say("Next steps could not be read again (" + error.message + ").", true); })
        .finally(function () {
          reading = false;
          if (again) { again = false; reread(); }
        });
    }

    // ---- the student's acts ----
    function busy(button, promise) {
      button.disabled = true;
      return promise.finally(function () { if (button.isConnected) { button.disabled = false; } });
    }

    function dismiss(button, entry) {
      const id = entry.dataset.recommendation;
      const title = entry.querySelector("[data-next-step-title]").textContent;
      const position = Array.prototype.indexOf.call(list.children, entry);
      busy(button, call("POST", API + encodeURIComponent(id) + "/dismiss")
        .then(function (answer) {
          const shown = render(answer.recommendations);
          say("Dismissed “" + title + "”: not suggested again for " + section.dataset.dismissDays + " days." +
            (shown.length ? "" : " No other next steps right now."));
          // focus stays in the list: on the step now in the dismissed one's place, or on the heading
          const next = list.children[Math.min(position, list.children.length - 1)];
          const target = next && next.querySelector("button") || section.querySelector("h2");
          if (target) { target.focus({ preventScroll: true }); }
          explain();
          section.dispatchEvent(new CustomEvent("next-steps:updated", { bubbles: true, detail: { dismissed: id } }));
        })
        .catch(function (error) { say("Not dismissed: " + error.message, true); }));
    }

    function feedback(button, entry, helpful) {
      const id = parseInt(entry.dataset.recommendation, 10);
      const body = { recommendation_id: id, helpful: helpful, feedback: helpful ? "helpful" : "not_helpful" };
      busy(button, call("POST", API + "feedback", body)
        .then(function (answer) {
          entry.querySelectorAll("button.choice").forEach(function (choice) {
            const mine = choice.dataset.nextStepAction === (answer.helpful ? "helpful" : "not_helpful");
            choice.setAttribute("aria-pressed", pressed(mine));
          });
          say("Thank you: “" + entry.querySelector("[data-next-step-title]").textContent + "” marked " +
            (answer.helpful ? "helpful." : "not helpful; it will be suggested less."));
        })
        .catch(function (error) { say("Feedback not saved: " + error.message, true); }));
    }

    function open(button, entry) {
      busy(button, call("POST", API + encodeURIComponent(entry.dataset.recommendation) + "/open")
        .then(function () {
          button.textContent = "Opened";
          say("“" + entry.querySelector("[data-next-step-title]").textContent + "”: noted as opened.");
        })
        .catch(function (error) { say("Not noted: " + error.message, true); }));
    }

    section.addEventListener("click", function (event) {
      const button = event.target.closest && event.target.closest("button[data-next-step-action]");
      if (!button || !own) { return; }
      const entry = button.closest("li[data-recommendation]");
      if (!entry) { return; }
      const action = button.dataset.nextStepAction;
      if (action === "dismiss") { dismiss(button, entry); }
      else if (action === "helpful") { feedback(button, entry, true); }
      else if (action === "not_helpful") { feedback(button, entry, false); }
      else if (action === "open") { open(button, entry); }
    });

    // The page's live stream (dashboards.js forwards each message as "live:message").
    let subscribedBefore = false;
    document.addEventListener("live:message", function (event) {
      const message = event.detail || {};
      if (message.type === "subscribed") {
        if (subscribedBefore) { reread(); } // messages sent while disconnected are not replayed
        subscribedBefore = true;
      } else if (message.type === "recommendations" && String(message.student) === String(student)) {
        reread();
      }
    });

    explain();
  }

  function init() { document.querySelectorAll("[data-next-steps]").forEach(panel); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
