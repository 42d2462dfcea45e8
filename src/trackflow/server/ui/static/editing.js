// Edits on the tracking and registry pages (rename, notes, tags, delete/restore, aliases...).
// Each is a <form data-api-method data-api-url [data-api-body] [data-confirm] [data-after]>
// (templates/_edit.html) whose submit sends one /api/v1 call: "{field}" in the URL and "$field"
// strings in the JSON body are filled from the form's inputs. On success the page's
// [data-edit-region] elements are swapped for freshly rendered copies (no reload), or the browser
// goes to data-after; on failure the API's message is shown in the form's role="alert" box.
(function () {
  "use strict";

  var send = window.trackflowApi.send;  // static/api.js

  function fillUrl(template, fields) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return encodeURIComponent(fields[name] || ""); });
  }

  function fillBody(node, fields) {
    if (typeof node === "string") { return node.charAt(0) === "$" ? (fields[node.slice(1)] || "") : node; }
    if (Array.isArray(node)) { return node.map(function (item) { return fillBody(item, fields); }); }
    if (node && typeof node === "object") {
      var out = {};
      Object.keys(node).forEach(function (key) { out[key] = fillBody(node[key], fields); });
      return out;
    }
    return node;
  }

  function labelOf(input) {
    var label = input.labels && input.labels[0];
    return label ? label.textContent.trim() : input.name;
  }

  // Re-render the parts of the page an edit can change, keeping keyboard focus where it was; when
  // the focused control is gone (a deleted tag's button), focus moves to the edited region.
  function refresh(regionId) {
    return fetch(window.location.href, { cache: "no-store", headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(new Error("HTTP " + response.status)); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var focused = document.activeElement && document.activeElement.id;
        document.querySelectorAll("[data-edit-region]").forEach(function (element) {
          var replacement = element.id && fresh.getElementById(element.id);
          if (replacement) { element.replaceWith(document.importNode(replacement, true)); }
        });
        var again = focused && document.getElementById(focused);
        if (again) { again.focus(); }
        var region = regionId && document.getElementById(regionId);
        if (region && (!document.activeElement || document.activeElement === document.body)) {
          region.setAttribute("tabindex", "-1");
          region.focus();
        }
        document.dispatchEvent(new CustomEvent("edit:updated"));
      });
  }

  function showError(form, message) {
    var box = form.querySelector('[role="alert"]');
    if (!box) { window.alert(message); return; }
    box.textContent = message;
    box.hidden = !message;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-api-url]")) { return; }
    event.preventDefault();
    showError(form, "");
    var fields = {};
    new FormData(form).forEach(function (value, key) { fields[key] = String(value); });
    var missing = Array.prototype.find.call(form.querySelectorAll("[required]"), function (input) {
      return !input.value.trim();
    });
    if (missing) {
      showError(form, labelOf(missing) + " must not be empty.");
      missing.focus();
      return;
    }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { return; }
    var body = form.dataset.apiBody ? fillBody(JSON.parse(form.dataset.apiBody), fields) : undefined;
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    send(form.dataset.apiMethod, fillUrl(form.dataset.apiUrl, fields), body)
      .then(function () {
        if (form.dataset.after) { window.location.assign(form.dataset.after); return null; }
        var region = form.closest("[data-edit-region]");
        return refresh(region && region.id);
      })
      .catch(function (error) { showError(form, error.message); })
      .then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });
})();
