// Live demand on the dashboard: the meter's latest reported demand, polled while the page is visible.
(function () {
  "use strict";
  var card = document.querySelector("[data-live-demand]");
  if (!card) return;
  var url = card.getAttribute("data-live-demand");
  var value = card.querySelector("[data-live-value]");
  var note = card.querySelector("[data-live-note]");
  var POLL_MS = 1500;
  var STALE_SECONDS = 600;

  function show(body) {
    if (body.demand === null || body.demand === undefined) {
      value.textContent = "—";
      note.textContent = body.message || "No live reading.";
      return;
    }
    var number = Number(body.demand);
    value.textContent = (Math.abs(number) < 10 ? number.toFixed(2) : number.toFixed(1)) + " " + body.unit;
    var when = new Date(body.measured_at);
    var age = body.age_seconds > STALE_SECONDS ? " The meter has not reported for a while: it may be off the network." : "";
    note.textContent = "Reported by your " + body.device.toLowerCase() + " at " + when.toLocaleTimeString() + "." + age;
  }

  function poll() {
    if (document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) show(body); })
      .catch(function () { note.textContent = "Live demand is unavailable right now."; });
  }
  poll();
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
