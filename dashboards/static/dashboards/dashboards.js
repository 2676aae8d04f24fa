/* EduPath dashboards: draws the charts described in each page's json_script blocks with Chart.js, swaps the
   dashboard part when the timeframe changes (no full reload), and sorts the students table. The page works
   without this file: the tables hold every number and the timeframe form submits normally. */
(function () {
  "use strict";
  const charts = [];
  const palette = ["#2457c5", "#e07b39", "#2f9e6e", "#a23b72", "#6c757d"];

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

  function drawCharts(root) {
    while (charts.length) { charts.pop().destroy(); }
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const source = document.getElementById("chart-" + canvas.dataset.chart);
      if (!source) { return; }
      const config = JSON.parse(source.textContent);
      charts.push(new Chart(canvas, config.kind === "matrix" ? matrix(config) : lineOrBar(config)));
    });
  }

  function sortable(root) {
    root.querySelectorAll("table[data-sortable]").forEach(function (table) {
      table.querySelectorAll("th button[data-sort]").forEach(function (button, column) {
        button.addEventListener("click", function () {
          const header = button.closest("th");
          const ascending = header.getAttribute("aria-sort") !== "ascending";
          table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
          header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          const body = table.tBodies[0];
          const rows = Array.from(body.rows).filter(function (row) { return row.cells.length > column + 0 && row.cells[column].dataset.value !== undefined; });
          rows.sort(function (a, b) {
            const x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
            const order = button.dataset.sort === "number" ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
            return ascending ? order : -order;
          });
          rows.forEach(function (row) { body.appendChild(row); });
        });
      });
    });
  }

  // Re-reads the dashboard part of this page (?fragment=1) and swaps it in: the timeframe picker and live messages
  // both come here. One read at a time; a request made meanwhile runs once the current one ends.
  let reading = false;
  let again = false;
  function reload(root, status) {
    if (reading) { again = true; return; }
    reading = true;
    const params = new URLSearchParams(window.location.search);
    params.set("fragment", "1");
    if (status) { status.textContent = "Loading…"; }
    fetch(window.location.pathname + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        root.innerHTML = html;
        drawCharts(root);
        sortable(root);
        if (status) { status.textContent = ""; }
        root.dispatchEvent(new CustomEvent("dashboard:updated", { bubbles: true }));
      })
      .catch(function (error) { if (status) { status.textContent = "Could not load (" + error.message + "); try again."; } })
      .finally(function () {
        reading = false;
        if (again) { again = false; reload(root, status); }
      });
  }

  function picker(form, root) {
    const status = form.querySelector("[data-status]");
    const submit = form.querySelector(".no-js");
    if (submit) { submit.hidden = true; }
    form.addEventListener("change", function () {
      const params = new URLSearchParams(new FormData(form));
      window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
      reload(root, status);
    });
  }

  // The live stream (docs/realtime.md): subscribe as the page says (json_script "live-subscription"); any message
  // about this page's scope re-reads the dashboard part, so numbers, charts and lists change in place. The state is
  // shown; a lost connection is retried with exponential backoff, and the page re-reads after reconnecting because
  // messages sent meanwhile are not replayed.
  const LIVE_TYPES = ["live_update", "user_event", "level_up", "achievement", "leaderboard", "alert"];
  function live(root) {
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
        if (message.type === "subscribed") {
          attempt = 0;
          show("live", "Live");
          if (connectedBefore) { reload(root, null); }
          connectedBefore = true;
        } else if (LIVE_TYPES.indexOf(message.type) >= 0) {
          reload(root, null);
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
    const form = document.querySelector("form[data-picker]");
    if (form) { picker(form, root); }
    live(root);
  });
})();
