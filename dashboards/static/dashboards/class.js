/* The class dashboard's own behaviour, on top of dashboards.js: a click on a bar of a chart that has links (the
   assignments' timeliness) opens its who-list, as its table's links do without JavaScript; the message form counts
   the students selected, and "everyone in this filter" ticks every row the table shows. Listeners sit on the
   document, so they keep working after dashboards.js swaps the dashboard part in. */
(function () {
  "use strict";

  function chartLinks(canvas) {
    const source = document.getElementById("chart-" + canvas.dataset.chart);
    if (!source) { return null; }
    const config = JSON.parse(source.textContent);
    return Array.isArray(config.links) ? config.links : null;
  }

  document.addEventListener("click", function (event) {
    const canvas = event.target.closest && event.target.closest("canvas[data-chart]");
    if (!canvas || typeof Chart === "undefined") { return; }
    const links = chartLinks(canvas);
    const chart = Chart.getChart(canvas);
    if (!links || !chart) { return; }
    const bars = chart.getElementsAtEventForMode(event, "index", { intersect: false }, true);
    if (bars.length && links[bars[0].index]) { window.location.assign(links[bars[0].index]); }
  });

  function showSelected() {
    const form = document.querySelector("form[data-message-form]");
    if (!form) { return; }
    const everyone = form.querySelector("[data-everyone]");
    const boxes = Array.from(document.querySelectorAll("input[data-select-student]"));
    if (everyone && everyone.checked) { boxes.forEach(function (box) { box.checked = true; }); }
    const chosen = boxes.filter(function (box) { return box.checked; }).length;
    const count = form.querySelector("[data-selected-count]");
    if (count) { count.textContent = chosen + " student" + (chosen === 1 ? "" : "s") + " selected."; }
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (!target.matches) { return; }
    if (target.matches("input[data-select-student]") && !target.checked) {
      const everyone = document.querySelector("form[data-message-form] [data-everyone]");
      if (everyone) { everyone.checked = false; }
    }
    if (target.matches("input[data-select-student], [data-everyone]")) { showSelected(); }
  });
  document.addEventListener("dashboard:updated", showSelected);
  document.addEventListener("DOMContentLoaded", showSelected);
})();
