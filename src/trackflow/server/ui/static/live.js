// Live pages (<main data-live="ms">): re-fetch this page every few ms and swap in the fresh
// copies of the elements marked data-live-region (matched by id). Stops once the server
// renders the page without data-live (the run or task has finished). After each swap it
// dispatches "live:updated" on the document and gives focus back to the element (by id) that
// had it, so keyboard users keep their place.
(function () {
  "use strict";
  var running = false;
  var etag = null;  // the page's last version: the server answers 304 while it is unchanged

  function start() {
    var main = document.querySelector("main[data-live]");
    if (!main || running) { return; }
    running = true;
    var interval = Number(main.getAttribute("data-live")) || 2000;

    function schedule() { window.setTimeout(refresh, interval); }

    function refresh() {
      var headers = { "Accept": "text/html" };
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(window.location.href, { cache: "no-store", headers: headers })
        .then(function (response) {
          if (response.status === 304) { return null; }
          etag = response.headers.get("ETag");
          return response.ok ? response.text() : Promise.reject(response.status);
        })
        .then(function (html) {
          if (html === null) { schedule(); return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var focused = document.activeElement && document.activeElement.id;
          document.querySelectorAll("[data-live-region]").forEach(function (element) {
            var replacement = element.id && fresh.getElementById(element.id);
            if (replacement) { element.replaceWith(document.importNode(replacement, true)); }
          });
          var again = focused && document.getElementById(focused);
          if (again && again !== document.activeElement) { again.focus(); }
          document.dispatchEvent(new CustomEvent("live:updated"));
          if (fresh.querySelector("main[data-live]")) { schedule(); } else { main.removeAttribute("data-live"); running = false; }
        })
        .catch(schedule);  // the server restarting or a blip: keep trying
    }
    schedule();
  }
  window.trackflowLive = start;
  start();
})();
