/* Live countdowns: every element with data-resets-at="<ISO 8601>" shows the time left until then.
   No dependencies; works on fragments swapped in by HTMX. */
(function () {
  "use strict";
  if (window.flowportCountdown) {
    return;
  }
  window.flowportCountdown = true;

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(seconds, daySuffix) {
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var clock = pad(hours) + ":" + pad(minutes) + ":" + pad(secs);
    return days > 0 ? days + (daySuffix || "d") + " " + clock : clock;
  }

  function tick() {
    var now = Date.now();
    var elements = document.querySelectorAll("[data-resets-at]");
    Array.prototype.forEach.call(elements, function (element) {
      var target = Date.parse(element.getAttribute("data-resets-at"));
      if (isNaN(target)) {
        return;
      }
      var left = Math.max(0, Math.floor((target - now) / 1000));
      var output = element.querySelector("[data-countdown]") || element;
      output.textContent = left > 0 ? format(left, element.getAttribute("data-day-suffix")) : element.getAttribute("data-reset-label") || "0:00:00";
    });
  }

  tick();
  window.setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
})();
