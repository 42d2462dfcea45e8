// Live pages (<main data-live="ms">): re-fetch this page every few ms and swap in the fresh
// copies of the elements marked data-live-region (matched by id). Stops once the server
// renders the page without data-live (the run or task has finished).
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main) { return; }
  var interval = Number(main.getAttribute("data-live")) || 2000;

  function schedule() { window.setTimeout(refresh, interval); }

  function refresh() {
    fetch(window.location.href, { cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (element) {
          var replacement = element.id && fresh.getElementById(element.id);
          if (replacement) { element.replaceWith(document.importNode(replacement, true)); }
        });
        if (fresh.querySelector("main[data-live]")) { schedule(); } else { main.removeAttribute("data-live"); }
      })
      .catch(schedule);  // the server restarting or a blip: keep trying
  }
  schedule();
})();
