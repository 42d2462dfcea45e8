// One way for the pages' scripts to call trackflow's /api/v1: JSON in and out, the session's
// CSRF token on every call (with auth on, server/sessions.py refuses a change without it),
// and a refusal turned into an Error carrying the API's own message ({"message": ...}).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function apiError(response) {
    return response.text().then(function (text) {
      var message = "HTTP " + response.status;
      try { message = JSON.parse(text).message || message; } catch (e) { if (text) { message = text; } }
      throw new Error(message);
    });
  }

  // The response once it is a success, else a rejection with the API's message.
  function send(method, url, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    var token = csrfToken();
    if (token) { headers["X-CSRF-Token"] = token; }
    return fetch(url, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    }).then(function (response) { return response.ok ? response : apiError(response); });
  }

  window.trackflowApi = {
    error: apiError,
    send: send,
    json: function (method, url, body) { return send(method, url, body).then(function (r) { return r.json(); }); },
  };
})();
