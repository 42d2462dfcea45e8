// Links printed by the MLflow client ("View run <name> at: http://host:port/#/experiments/1/runs/<id>",
// "View experiment at: .../#/experiments/1") and links to MLflow's UI point into its single-page
// app through the URL fragment, which browsers never send to the server. The server answers "/"
// with a redirect, the browser keeps the fragment, and this script, loaded first on every page,
// sends such a fragment to trackflow's own page (paths as in server/ui/urls.py). Any other
// fragment is left alone.
(function () {
  "use strict";
  var hash = window.location.hash;
  if (hash.indexOf("#/") !== 0) { return; }
  // "?workspace=..." and other query parameters of MLflow's router mean nothing here
  var parts = hash.slice(2).split("?")[0].split("/").filter(function (part) { return part !== ""; });

  function segment(value) {
    try { value = decodeURIComponent(value); } catch (error) { /* keep it as sent */ }
    return encodeURIComponent(value);
  }

  var target = null;
  if (parts[0] === "experiments") {
    if (parts.length >= 4 && parts[2] === "runs") {
      target = "/runs/" + segment(parts[3]);  // also .../runs/<id>/model-metrics...
      if (parts[4] === "artifacts" && parts.length > 5) {  // the artifact browser opens that file
        var path = parts.slice(5).map(function (p) { try { return decodeURIComponent(p); } catch (e) { return p; } });
        target += "#artifact=" + encodeURIComponent(path.join("/"));
      }
    } else if (parts.length >= 2) {
      target = "/experiments/" + segment(parts[1]);  // also .../overview, .../traces...
    } else {
      target = "/experiments";
    }
  } else if (parts[0] === "models") {
    if (parts.length >= 4 && parts[2] === "versions") {
      target = "/models/" + segment(parts[1]) + "/versions/" + segment(parts[3]);
    } else if (parts.length >= 2) {
      target = "/models/" + segment(parts[1]);
    } else {
      target = "/models";
    }
  }
  if (target !== null) { window.location.replace(target); }
})();
