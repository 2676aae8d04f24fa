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

  function picker(form, root) {
    const status = form.querySelector("[data-status]");
    const submit = form.querySelector(".no-js");
    if (submit) { submit.hidden = true; }
    form.addEventListener("change", function () {
      const params = new URLSearchParams(new FormData(form));
      status.textContent = "Loading…";
      params.set("fragment", "1");
      fetch(window.location.pathname + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          root.innerHTML = html;
          params.delete("fragment");
          window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
          drawCharts(root);
          sortable(root);
          status.textContent = "";
          root.dispatchEvent(new CustomEvent("dashboard:updated", { bubbles: true }));
        })
        .catch(function (error) { status.textContent = "Could not load (" + error.message + "); try again."; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-dashboard]");
    if (!root) { return; }
    drawCharts(root);
    sortable(root);
    const form = document.querySelector("form[data-picker]");
    if (form) { picker(form, root); }
  });
})();
