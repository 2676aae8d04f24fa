/* EduPath dashboards: draws the charts described in each page's json_script blocks with Chart.js, swaps the
   dashboard part when the timeframe changes (no full reload), sorts the students table, and patches live updates
   into the page in place (at most one read per coalescing interval; sort, open tables, focus and scroll are kept).
   The page works without this file: the tables hold every number and the timeframe form submits normally. */
(function () {
  "use strict";
  const charts = [];
  // Each line colour has at least 3:1 contrast against the white chart card (WCAG 1.4.11). The orange #c05a1c is
  // 4.45:1 (3.22:1 at the bars' 80 % alpha); the earlier #e07b39 was 2.97:1 (2.38:1 as a bar).
  const palette = ["#2457c5", "#c05a1c", "#2f9e6e", "#a23b72", "#6c757d"];

  function lineOrBar(config) {
    return {
      type: config.kind,
      data: {
        labels: config.labels,
        datasets: config.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data,
            borderColor: palette[index % palette.length],
            backgroundColor: palette[index % palette.length] + (config.kind === "bar" ? "cc" : "33"),
            tension: 0.2,
            pointRadius: config.labels.length > 60 ? 0 : 2,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, max: config.unit === "%" ? 100 : undefined, ticks: { callback: function (v) { return v + (config.unit ? " " + config.unit : ""); } } } },
        plugins: { legend: { display: config.series.length > 1 } },
      },
    };
  }

  function matrix(config) {
    const weeks = Array.from(new Set(config.cells.map(function (cell) { return cell.x; })));
    const most = Math.max(1, ...config.cells.map(function (cell) { return cell.v; }));
    return {
      type: "matrix",
      data: {
        datasets: [{
          label: config.title,
          data: config.cells,
          backgroundColor: function (context) {
            const cell = context.dataset.data[context.dataIndex];
            const alpha = cell && cell.v ? 0.15 + 0.85 * (cell.v / most) : 0.05;
            return "rgba(36, 87, 197, " + alpha.toFixed(2) + ")";
          },
          width: function (context) { const a = context.chart.chartArea; return a ? a.width / weeks.length - 2 : 10; },
          height: function (context) { const a = context.chart.chartArea; return a ? a.height / 7 - 2 : 10; },
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: function (items) { return items[0].raw.d; }, label: function (item) { return item.raw.v + " events"; } } },
        },
        scales: {
          x: { type: "category", labels: weeks, offset: true, grid: { display: false }, ticks: { maxTicksLimit: 8 } },
          y: { type: "category", labels: config.weekdays, offset: true, grid: { display: false } },
        },
      },
    };
  }

  function chartConfig(canvas) {
    const source = document.getElementById("chart-" + canvas.dataset.chart);
    if (!source) { return null; }
    const config = JSON.parse(source.textContent);
    return { text: source.textContent, chart: config.kind === "matrix" ? matrix(config) : lineOrBar(config) };
  }

  const drawn = new WeakMap(); // canvas -> the json_script text its chart was drawn from

  function drawCharts(root) {
    while (charts.length) { charts.pop().destroy(); }
    refreshCharts(root);
  }

  // Draws the charts not drawn yet and feeds new data to the ones whose json_script changed, in place: Chart.js
  // keeps the canvas (no flicker, no lost tooltip or focus).
  function refreshCharts(root) {
    if (typeof Chart === "undefined") { return; }
    for (let index = charts.length - 1; index >= 0; index -= 1) {
      if (!document.contains(charts[index].canvas)) { charts.splice(index, 1)[0].destroy(); }
    }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const existing = Chart.getChart(canvas);
      const source = document.getElementById("chart-" + canvas.dataset.chart);
      if (existing && source && drawn.get(canvas) === source.textContent) { return; }
      const config = chartConfig(canvas);
      if (!config) { return; }
      drawn.set(canvas, config.text);
      if (existing) {
        existing.data = config.chart.data;
        existing.options = config.chart.options;
        existing.update("none");
      } else {
        charts.push(new Chart(canvas, config.chart));
      }
    });
  }

  // The sort a sortable table shows: the header with aria-sort, its column and kind (number or text).
  function currentSort(table) {
    const header = table.querySelector("th[aria-sort]");
    const button = header && header.querySelector("button[data-sort]");
    if (!button) { return null; }
    const column = Array.from(table.querySelectorAll("th button[data-sort]")).indexOf(button);
    return { column: column, kind: button.dataset.sort, ascending: header.getAttribute("aria-sort") === "ascending" };
  }

  // `rows` in the table's sort; a stable sort, so rows that tie keep the order they came in (the order on screen).
  function sortRows(rows, sort) {
    const fixed = [], sortable = [];
    rows.forEach(function (row) {
      const cell = row.cells[sort.column];
      (cell && cell.dataset.value !== undefined ? sortable : fixed).push(row);
    });
    sortable.sort(function (a, b) {
      const x = a.cells[sort.column].dataset.value, y = b.cells[sort.column].dataset.value;
      const order = sort.kind === "number" ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return sort.ascending ? order : -order;
    });
    return fixed.concat(sortable);
  }

  // Puts `rows` into `body` in that order, moving only when the order differs; a moved row loses focus in the
  // browser, so the focused element gets it back.
  function placeRows(body, rows) {
    const current = Array.from(body.rows);
    if (rows.length === current.length && rows.every(function (row, index) { return row === current[index]; })) { return; }
    const focused = document.activeElement;
    rows.forEach(function (row) { body.appendChild(row); });
    if (focused && focused !== document.activeElement && document.contains(focused)) { focused.focus({ preventScroll: true }); }
  }

  function sortable(root) {
    root.querySelectorAll("table[data-sortable]").forEach(function (table) {
      table.querySelectorAll("th button[data-sort]").forEach(function (button) {
        button.addEventListener("click", function () {
          const header = button.closest("th");
          const ascending = header.getAttribute("aria-sort") !== "ascending";
          table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
          header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          const body = table.tBodies[0];
          placeRows(body, sortRows(Array.from(body.rows), currentSort(table)));
        });
      });
    });
  }

  // ---- Patching a fresh copy of the dashboard part into the page, in place ----
  // A live update must not re-render under the reader: only text, attributes and rows that changed are touched.
  // What the reader set is kept: a table's sort (aria-sort and row order), open data tables (<details open>), form
  // controls (the message form, its ticks and its request id) and the charts' canvases (Chart.js owns them; their
  // json_script data is patched and the chart updated). Rows with an id (data-student, data-item, data-course,
  // data-row) are matched by it, so a row keeps its element (and the focus inside it) when the order changes.
  const ROW_KEYS = ["student", "item", "course", "row"];

  function rowKey(row) {
    for (let index = 0; index < ROW_KEYS.length; index += 1) {
      const value = row.getAttribute("data-" + ROW_KEYS[index]);
      if (value !== null) { return ROW_KEYS[index] + ":" + value; }
    }
    return null;
  }

  function keptAttribute(element, name) {
    return (name === "open" && element.nodeName === "DETAILS") || (name === "aria-sort" && element.closest("table[data-sortable]") !== null);
  }

  function syncAttributes(old, fresh) {
    Array.from(old.attributes).forEach(function (attribute) {
      if (!fresh.hasAttribute(attribute.name) && !keptAttribute(old, attribute.name)) { old.removeAttribute(attribute.name); }
    });
    Array.from(fresh.attributes).forEach(function (attribute) {
      if (old.getAttribute(attribute.name) !== attribute.value && !keptAttribute(old, attribute.name)) { old.setAttribute(attribute.name, attribute.value); }
    });
  }

  const UNTOUCHED = ["INPUT", "TEXTAREA", "SELECT", "BUTTON", "CANVAS"];

  function morph(old, fresh) {
    if (old.nodeType !== Node.ELEMENT_NODE) {
      if (old.nodeValue !== fresh.nodeValue) { old.nodeValue = fresh.nodeValue; }
      return;
    }
    if (old.nodeName === "INPUT" && old.type === "hidden" && old.name !== "request_id") {
      // a hidden field follows the page (who is in the filter); the message form's request id stays, so a form
      // sent twice is still recognised as one message
      syncAttributes(old, fresh);
      old.value = fresh.getAttribute("value") || "";
      return;
    }
    if (UNTOUCHED.indexOf(old.nodeName) >= 0) { return; }
    if (old.nodeName === "SCRIPT") {
      if (old.textContent !== fresh.textContent) { old.textContent = fresh.textContent; }
      return;
    }
    syncAttributes(old, fresh);
    if (old.nodeName === "TBODY") { morphRows(old, fresh); } else { morphChildren(old, fresh); }
  }

  function morphChildren(old, fresh) {
    const olds = Array.from(old.childNodes);
    Array.from(fresh.childNodes).forEach(function (node, index) {
      const current = olds[index];
      if (current && current.nodeType === node.nodeType && current.nodeName === node.nodeName) {
        morph(current, node);
      } else if (current) {
        old.replaceChild(document.importNode(node, true), current);
      } else {
        old.appendChild(document.importNode(node, true));
      }
    });
    olds.slice(fresh.childNodes.length).forEach(function (node) { node.remove(); });
  }

  function morphRows(body, fresh) {
    const oldRows = Array.from(body.rows), freshRows = Array.from(fresh.rows);
    const keyed = oldRows.length > 0 && freshRows.length > 0 && oldRows.concat(freshRows).every(function (row) { return rowKey(row) !== null; });
    if (!keyed) { morphChildren(body, fresh); return; }
    const byKey = new Map(oldRows.map(function (row) { return [rowKey(row), row]; }));
    const added = [];
    const inFreshOrder = freshRows.map(function (row) {
      const old = byKey.get(rowKey(row));
      if (old) { byKey.delete(rowKey(row)); morph(old, row); return old; }
      const created = document.importNode(row, true);
      added.push(created);
      return created;
    });
    byKey.forEach(function (row) { row.remove(); });
    const table = body.closest("table");
    const sort = table && table.hasAttribute("data-sortable") ? currentSort(table) : null;
    if (sort) {
      // the reader's sort, starting from the order on screen (new rows last), so ties do not shuffle
      const kept = Array.from(body.rows).filter(function (row) { return inFreshOrder.indexOf(row) >= 0; });
      placeRows(body, sortRows(kept.concat(added), sort));
    } else {
      placeRows(body, inFreshOrder);
    }
  }

  // ---- Telling screen readers, politely and briefly ----
  const ANNOUNCE_EVERY_MS = 5000; // a summary at most this often: a steady stream must not talk over the reader
  function announcer() {
    const region = document.createElement("p");
    region.className = "visually-hidden";
    region.setAttribute("aria-live", "polite");
    region.setAttribute("data-live-announce", "");
    document.body.appendChild(region);
    const changed = new Set();
    let last = -Infinity;
    let timer = null;
    function label(element) {
      return element.getAttribute("data-metric").split(".").pop().replace(/_/g, " ");
    }
    function say() {
      timer = null;
      last = performance.now();
      const figures = Array.from(changed).filter(function (element) { return document.contains(element); });
      changed.clear();
      if (!figures.length) { return; }
      const shown = figures.slice(0, 3).map(function (element) { return label(element) + " " + element.textContent.trim(); });
      const more = figures.length > 3 ? " and " + (figures.length - 3) + " more" : "";
      region.textContent = "Updated: " + shown.join(", ") + more + ".";
    }
    return {
      // the page's headline figures (not table cells, not the time stamp) and their text, before a patch
      figures: function (root) {
        return Array.from(root.querySelectorAll("[data-metric]")).filter(function (element) {
          return element.getAttribute("data-metric") !== "as_of" && !element.closest("table");
        }).map(function (element) { return [element, element.textContent.trim()]; });
      },
      after: function (before) {
        before.forEach(function (pair) { if (pair[0].textContent.trim() !== pair[1]) { changed.add(pair[0]); } });
        if (!changed.size || timer !== null) { return; }
        timer = window.setTimeout(say, Math.max(0, last + ANNOUNCE_EVERY_MS - performance.now()));
      },
    };
  }

  // ---- Reading the dashboard part ----
  // One reader per page: one fetch in flight at a time. A live message asks for a patch; fetches for patches start at
  // least `interval` ms apart (LIVE_COALESCE_MS, as the server coalesces), however many messages arrive: the first
  // after a quiet spell goes at once, the rest fold into one fetch at the interval's end (trailing edge). A change of
  // the timeframe or filters (the reader's own act) asks for a swap, which goes at once and replaces the part.
  function reader(root, interval, announce) {
    let inFlight = false;
    let wanted = null; // null, "patch" or "swap"
    let status = null;
    let lastStart = -Infinity;
    let timer = null;

    function schedule() {
      if (inFlight || timer !== null || wanted === null) { return; }
      const wait = wanted === "swap" ? 0 : Math.max(0, lastStart + interval - performance.now());
      timer = window.setTimeout(run, wait);
    }

    function apply(mode, html) {
      if (mode === "swap") {
        root.innerHTML = html;
        drawCharts(root);
        sortable(root);
        return;
      }
      const fresh = document.createElement("template");
      fresh.innerHTML = html;
      const before = announce.figures(root);
      morphChildren(root, fresh.content);
      refreshCharts(root);
      announce.after(before);
    }

    function run() {
      timer = null;
      const mode = wanted;
      const shown = mode === "swap" ? status : null;
      wanted = null;
      inFlight = true;
      lastStart = performance.now();
      const params = new URLSearchParams(window.location.search);
      params.set("fragment", "1");
      if (shown) { shown.textContent = "Loading…"; }
      fetch(window.location.pathname + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          apply(mode, html);
          if (shown) { shown.textContent = ""; }
          root.dispatchEvent(new CustomEvent("dashboard:updated", { bubbles: true, detail: { mode: mode } }));
        })
        .catch(function (error) { if (shown) { shown.textContent = "Could not load (" + error.message + "); try again."; } })
        .finally(function () {
          inFlight = false;
          schedule();
        });
    }

    return {
      patch: function () { if (wanted === null) { wanted = "patch"; } schedule(); },
      swap: function (statusElement) {
        wanted = "swap";
        status = statusElement;
        if (timer !== null) { window.clearTimeout(timer); timer = null; }
        schedule();
      },
    };
  }

  function picker(form, read) {
    const status = form.querySelector("[data-status]");
    const submit = form.querySelector(".no-js");
    if (submit) { submit.hidden = true; }
    form.addEventListener("change", function () {
      const params = new URLSearchParams(new FormData(form));
      window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
      read.swap(status);
    });
  }

  // The live stream (docs/realtime.md): subscribe as the page says (json_script "live-subscription"); any message
  // about this page's scope asks the reader for a patch, so numbers, charts, rows and lists change in place. The
  // state is shown; a lost connection is retried with exponential backoff, and the page re-reads after reconnecting
  // because messages sent meanwhile are not replayed.
  // Every message is also handed to the page's own scripts as a "live:message" event (e.g. a student's next steps,
  // which sit outside the dashboard part and are re-read from their API: recommendations/next_steps.js).
  const LIVE_TYPES = ["live_update", "user_event", "level_up", "achievement", "leaderboard", "alert", "goal_milestone"];
  function live(read) {
    const source = document.getElementById("live-subscription");
    const state = document.querySelector("[data-live-state]");
    if (!source || !state || typeof WebSocket === "undefined") { return; }
    const subscription = Object.assign({ type: "subscribe" }, JSON.parse(source.textContent));
    let attempt = 0;
    let connectedBefore = false;
    function show(name, text) { state.dataset.liveState = name; state.textContent = text; }
    function connect() {
      show("connecting", "Connecting…");
      const socket = new WebSocket((window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + "/ws/live/");
      socket.addEventListener("open", function () {
        socket.send(JSON.stringify(subscription));
      });
      socket.addEventListener("message", function (event) {
        let message;
        try { message = JSON.parse(event.data); } catch (error) { return; }
        document.dispatchEvent(new CustomEvent("live:message", { detail: message }));
        if (message.type === "subscribed") {
          attempt = 0;
          show("live", "Live");
          if (connectedBefore) { read.patch(); }
          connectedBefore = true;
        } else if (LIVE_TYPES.indexOf(message.type) >= 0) {
          read.patch();
        }
      });
      socket.addEventListener("close", function () {
        const delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.75 + Math.random() / 2);
        attempt += 1;
        show("offline", "Offline, retrying in " + Math.round(delay / 1000) + " s");
        window.setTimeout(connect, delay);
      });
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-dashboard]");
    if (!root) { return; }
    drawCharts(root);
    sortable(root);
    const interval = parseInt(root.dataset.liveInterval || "250", 10);
    const read = reader(root, interval > 0 ? interval : 250, announcer());
    const form = document.querySelector("form[data-picker]");
    if (form) { picker(form, read); }
    // a page's own script that changed data through the API asks for the same in-place patch as a live message
    document.addEventListener("dashboard:refresh", function () { read.patch(); });
    live(read);
  });
})();
