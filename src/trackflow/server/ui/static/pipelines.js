// The pipeline pages' actions. Every change goes through trackflow's /api/v1 (the same routes
// the CLI's remote mode and other clients use), whose errors ({"message": ...}) are shown next
// to what was acted on. No framework: event delegation on the document, so regions that
// live.js swaps in keep working.
(function () {
  "use strict";

  var send = window.trackflowApi.json;  // static/api.js
  var apiError = window.trackflowApi.error;

  function showMessage(text) {
    var box = document.getElementById("ui-message");
    if (!box) { return; }
    box.textContent = text || "";
    box.hidden = !text;
  }

  // Pause switches (DAG list and DAG pages) ----------------------------------------------
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-pause-url]")) { return; }
    var active = input.checked;
    input.disabled = true;
    send("PATCH", input.getAttribute("data-pause-url"), { is_paused: !active })
      .then(function (dag) {
        input.checked = !dag.is_paused;
        var text = input.parentElement.querySelector(".switch-text");
        if (text) { text.textContent = dag.is_paused ? "paused" : "active"; }
        showMessage("");
      })
      .catch(function (error) { input.checked = !active; showMessage(error.message); })
      .then(function () { input.disabled = false; });
  });

  // Grid: expand mapped tasks, arrow keys between cells, open a cell in the side panel ------
  var expanded = {};

  function applyExpanded() {
    Object.keys(expanded).forEach(function (id) {
      var body = document.getElementById(id);
      var button = document.querySelector('[data-expand="' + id + '"]');
      if (body && button) { body.hidden = false; button.setAttribute("aria-expanded", "true"); button.textContent = "▾"; }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-expand]");
    if (button) {
      var id = button.getAttribute("data-expand");
      var body = document.getElementById(id);
      var open = button.getAttribute("aria-expanded") !== "true";
      body.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "▾" : "▸";
      if (open) { expanded[id] = true; } else { delete expanded[id]; }
      return;
    }
    var link = event.target.closest && event.target.closest("#task-grid a.cell, #side-panel a[data-panel-link]");
    var panel = document.getElementById("side-panel");
    if (link && panel && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      document.querySelectorAll("#task-grid a.cell[aria-current]").forEach(function (a) { a.removeAttribute("aria-current"); });
      if (link.classList.contains("cell")) { link.setAttribute("aria-current", "true"); }
      loadPanel(link.getAttribute("href"), true);
    }
  });

  document.addEventListener("keydown", function (event) {
    var cell = event.target;
    if (!cell.matches || !cell.matches("#task-grid a.cell")) { return; }
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    var move = moves[event.key];
    if (!move) { return; }
    var cells = Array.prototype.slice.call(document.querySelectorAll("#task-grid tr:not([hidden]) a.cell"))
      .filter(function (a) { return a.offsetParent !== null; });
    var rows = [];
    cells.forEach(function (a) {
      var tr = a.closest("tr");
      if (rows.length === 0 || rows[rows.length - 1].tr !== tr) { rows.push({ tr: tr, cells: [] }); }
      rows[rows.length - 1].cells.push(a);
    });
    for (var r = 0; r < rows.length; r++) {
      var c = rows[r].cells.indexOf(cell);
      if (c < 0) { continue; }
      var row = rows[r + move[0]];
      var target = row && row.cells[Math.min(c + move[1], row.cells.length - 1)];
      if (target && c + move[1] >= 0) { target.focus(); event.preventDefault(); }
      return;
    }
  });

  document.addEventListener("live:updated", function () {
    applyExpanded();
    var current = document.getElementById("task-panel");
    var selected = current && current.getAttribute("data-panel-url");
    if (selected) {
      document.querySelectorAll("#task-grid a.cell").forEach(function (a) {
        if (a.getAttribute("href") === selected) { a.setAttribute("aria-current", "true"); }
      });
    }
  });

  // The task panel: loaded into the grid's side panel, or a page of its own ------------------
  var panelTimer = null;
  var logTimer = null;

  function loadPanel(url, focus) {
    window.clearTimeout(panelTimer);
    return fetch(url, { cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : apiError(response); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("task-panel");
        var holder = document.getElementById("side-panel");
        var old = document.getElementById("task-panel");
        if (!fresh) { return; }
        fresh = document.importNode(fresh, true);
        // The same try's log keeps what was already streamed into it.
        var oldLog = old && old.querySelector("#task-log");
        var newLog = fresh.querySelector("#task-log");
        if (oldLog && newLog && oldLog.getAttribute("data-log-url") === newLog.getAttribute("data-log-url")) {
          newLog.replaceWith(oldLog);
          if (newLog.hasAttribute("data-follow")) { oldLog.setAttribute("data-follow", ""); } else { oldLog.removeAttribute("data-follow"); }
        }
        if (old && (!holder || holder.contains(old))) { old.replaceWith(fresh); } else if (holder) { holder.replaceChildren(fresh); }
        startPanel(fresh);
        if (focus) { var title = fresh.querySelector("h2"); title.setAttribute("tabindex", "-1"); title.focus(); }
      })
      .catch(function (error) { showMessage(error.message); });
  }

  function startPanel(panel) {
    var log = panel.querySelector("#task-log");
    if (log && !log.hasAttribute("data-started")) { log.setAttribute("data-started", ""); followLog(log); }
    if (panel.hasAttribute("data-live")) {
      panelTimer = window.setTimeout(function () { loadPanel(panel.getAttribute("data-panel-url"), false); }, 2000);
    }
  }

  function followLog(log) {
    var offset = Number(log.getAttribute("data-offset") || 0);
    var url = log.getAttribute("data-log-url");
    fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "offset=" + offset, { cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : apiError(response); })
      .then(function (body) {
        if (body.content) {
          var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
          log.appendChild(document.createTextNode(body.content));
          if (atEnd) { log.scrollTop = log.scrollHeight; }
        }
        log.setAttribute("data-offset", String(body.next_offset));
        var running = body.state === "running" || body.state === "queued" || body.state === "deferred";
        if (document.body.contains(log) && (running || log.hasAttribute("data-follow"))) {
          logTimer = window.setTimeout(function () { followLog(log); }, 1000);
        }
      })
      .catch(function (error) {
        if (document.body.contains(log) && log.hasAttribute("data-follow")) {
          logTimer = window.setTimeout(function () { followLog(log); }, 1000);  // not written yet
        } else if (!log.textContent) {
          log.textContent = error.message;
        }
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("form.actions button[data-action]");
    if (!button) { return; }
    var form = button.closest("form");
    var status = form.querySelector(".action-status");
    var errorBox = form.querySelector(".action-error");
    var body = {
      include_downstream: form.elements.include_downstream.checked,
      include_upstream: form.elements.include_upstream.checked,
    };
    var request;
    if (button.getAttribute("data-action") === "clear") {
      request = send("POST", form.getAttribute("data-clear-url"), body).then(function (out) {
        return "Cleared: " + out.cleared.join(", ");
      });
    } else {
      body.state = button.getAttribute("data-state");
      request = send("PATCH", form.getAttribute("data-mark-url"), body).then(function (out) {
        return "Marked " + out.state + ": " + out.marked.join(", ");
      });
    }
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    errorBox.hidden = true;
    request
      .then(function (message) {
        var panel = form.closest("#task-panel");
        var url = panel.getAttribute("data-panel-url");
        return refreshGrid().then(function () { return loadPanel(url, false); }).then(function () {
          var again = document.querySelector("#task-panel .action-status");
          if (again) { again.textContent = message; }
        });
      })
      .catch(function (error) {
        errorBox.textContent = error.message;
        errorBox.hidden = false;
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
  });

  function refreshGrid() {
    var grid = document.getElementById("grid");
    if (!grid) { return Promise.resolve(); }
    return fetch(window.location.href, { cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("grid");
        if (fresh) { grid.replaceWith(document.importNode(fresh, true)); }
        var main = document.querySelector("main");
        // The run may be running again after a clear: follow it.
        if (doc.querySelector("main[data-live]") && !main.hasAttribute("data-live")) {
          main.setAttribute("data-live", "2000");
          if (window.trackflowLive) { window.trackflowLive(); }
        }
        document.dispatchEvent(new CustomEvent("live:updated"));
      });
  }

  // Trigger with conf ---------------------------------------------------------------------
  function fieldValue(field) {
    var kind = field.getAttribute("data-kind");
    var input = field.querySelector("input, select, textarea");
    if (kind === "boolean") { return { set: true, value: input.checked }; }
    var text = input.value;
    if (text === "" && kind !== "string") { return { set: false }; }
    if (kind === "integer" || kind === "number") {
      var number = Number(text);
      if (text.trim() === "" || isNaN(number)) { throw { field: field, message: "enter a number" }; }
      return { set: true, value: number };
    }
    if (kind === "enum" || kind === "json") {
      try { return { set: true, value: JSON.parse(text) }; } catch (e) { throw { field: field, message: "not valid JSON: " + e.message }; }
    }
    if (text === "" && !field.hasAttribute("data-required")) { return { set: false }; }
    return { set: true, value: text };
  }

  function fieldError(field, message) {
    var box = field.querySelector(".field-error");
    var input = field.querySelector("input, select, textarea");
    box.textContent = message || "";
    if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "trigger-form") { return; }
    event.preventDefault();
    var errorBox = document.getElementById("trigger-error");
    var status = document.getElementById("trigger-status");
    var fields = form.querySelectorAll(".field[data-param]");
    var conf = {};
    errorBox.hidden = true;
    status.textContent = "";
    fields.forEach(function (f) { fieldError(f, ""); });
    try {
      fields.forEach(function (f) {
        var got = fieldValue(f);
        if (got.set) { conf[f.getAttribute("data-param")] = got.value; }
      });
    } catch (problem) {
      fieldError(problem.field, problem.message);
      problem.field.querySelector("input, select, textarea").focus();
      return;
    }
    var extraField = document.getElementById("extra-conf-field");
    var extraText = form.elements.__extra_conf.value.trim();
    fieldError(extraField, "");
    if (extraText) {
      var extra;
      try { extra = JSON.parse(extraText); } catch (e) { extra = e; }
      if (extra === null || typeof extra !== "object" || Array.isArray(extra) || extra instanceof Error) {
        fieldError(extraField, "conf must be a JSON object" + (extra instanceof Error ? ": " + extra.message : ""));
        form.elements.__extra_conf.focus();
        return;
      }
      Object.keys(extra).forEach(function (key) { conf[key] = extra[key]; });
    }
    var body = { conf: conf };
    var date = form.elements.__logical_date.value.trim();
    var runId = form.elements.__run_id.value.trim();
    if (date) { body.logical_date = date; }
    if (runId) { body.run_id = runId; }
    var submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    send("POST", form.getAttribute("data-api-url"), body)
      .then(function (run) {
        status.textContent = "Triggered run " + run.run_id;
        window.location.assign(form.getAttribute("data-grid-url"));
      })
      .catch(function (error) {
        submit.disabled = false;
        errorBox.textContent = error.message;
        errorBox.hidden = false;
        // The server names the param that failed validation: show the message at its field.
        var named = /param '([^']+)'/.exec(error.message);
        var target = null;
        fields.forEach(function (f) { if (named && f.getAttribute("data-param") === named[1]) { target = f; } });
        if (target) { fieldError(target, error.message); target.querySelector("input, select, textarea").focus(); } else { errorBox.focus(); }
      });
  });

  // A task panel opened as a page of its own follows its task too.
  var standalone = document.getElementById("task-panel");
  if (standalone) { startPanel(standalone); }
})();
