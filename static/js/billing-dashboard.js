// Draws the usage charts from the JSON the page carries; the tables beside them hold the same numbers.
(function () {
  "use strict";
  var source = document.getElementById("billing-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  // TOU colours; each bar's period is also named in the tooltip and the table, never colour alone.
  var colours = {
    off_peak: "#2e7d32", mid_peak: "#8d6e00", on_peak: "#c62828", cpp: "#6a1b9a",
    standard: "#1565c0", tier_1: "#1565c0", tier_2: "#1565c0", tier_3: "#1565c0", real_time: "#00838f", none: "#616161"
  };
  var exportColour = "#ef6c00";
  var drawn = {};

  function draw(spec) {
    if (drawn[spec.key]) { return; }
    var money = spec.unit === "$";
    var canvas = document.getElementById("chart-" + spec.key);
    if (!canvas) { return; }
    var delivered = {
      label: money ? "Cost of energy from the grid ($)" : "From the grid (kWh)", data: spec.delivered,
      backgroundColor: spec.periods.length ? spec.periods.map(function (p) { return colours[p] || colours.standard; }) : colours.standard
    };
    var datasets = [delivered];
    var anyExport = spec.received.some(function (v) { return v > 0; });
    if (anyExport) {
      datasets.push({ label: money ? "Export credit ($)" : "To the grid (kWh)", data: spec.received.map(function (v) { return -v; }), backgroundColor: exportColour });
    }
    drawn[spec.key] = new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true, ticks: { autoSkip: true, maxTicksLimit: 12 } }, y: { stacked: true, title: { display: true, text: money ? "$ (export credit below zero)" : "kWh (export below zero)" } } },
        plugins: {
          tooltip: {
            callbacks: {
              afterLabel: function (item) {
                return spec.periodLabels.length && item.datasetIndex === 0 ? "Price period: " + spec.periodLabels[item.dataIndex] : "";
              }
            }
          }
        }
      }
    });
  }

  // One chart per page: the period chosen by the links above it (its URL holds the choice).
  charts.forEach(draw);
  document.body.setAttribute("data-charts-ready", "true");
})();
