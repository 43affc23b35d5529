// Draws each gas and water meter's month-by-month chart, in the unit the utility reads it in.
// The table in each section holds the same numbers.
(function () {
  "use strict";
  var source = document.getElementById("commodity-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  JSON.parse(source.textContent).forEach(function (spec) {
    var canvas = document.getElementById("commodity-chart-" + spec.key);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "bar",
      data: { labels: spec.months.labels, datasets: [{ label: "Used (" + spec.unit + ")", data: spec.months.values, backgroundColor: "#1565c0" }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { ticks: { autoSkip: true, maxTicksLimit: 12 } }, y: { title: { display: true, text: spec.unit } } }
      }
    });
  });
  document.body.setAttribute("data-commodity-charts-ready", "true");
})();
