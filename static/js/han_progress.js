// Live HAN commissioning progress: every element with data-han-status-url polls its
// JSON endpoint until the device is finished (verified, failed or removed).
(function () {
  "use strict";
  var INTERVAL_MS = 1000;

  function render(row, data) {
    var state = row.querySelector("[data-han-state]");
    if (state) { state.textContent = data.state_label; state.className = "status han-state-" + data.state; }
    var reason = row.querySelector("[data-han-reason]");
    if (reason) { reason.textContent = data.failure_reason || ""; reason.hidden = !data.failure_reason; }
    var notice = row.querySelector("[data-han-notice]");
    if (notice) { notice.textContent = data.notice || ""; notice.hidden = !data.notice; }
    var steps = row.querySelectorAll("[data-han-step]");
    data.steps.forEach(function (step, index) {
      if (steps[index]) { steps[index].textContent = (step.done ? "✓ " : "○ ") + step.label; }
    });
    row.querySelectorAll("[data-han-retry]").forEach(function (retry) { retry.hidden = data.state !== "failed"; });
  }

  function poll(row) {
    fetch(row.getAttribute("data-han-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) {
        render(row, data);
        if (!data.finished) { window.setTimeout(function () { poll(row); }, INTERVAL_MS); }
      })
      .catch(function () { window.setTimeout(function () { poll(row); }, INTERVAL_MS * 5); });
  }

  document.querySelectorAll("[data-han-status-url]").forEach(function (row) {
    if (row.getAttribute("data-han-finished") !== "true") { poll(row); }
  });
})();
