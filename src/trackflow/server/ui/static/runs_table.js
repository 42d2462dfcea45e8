// The runs table: child runs listed under their parent can be collapsed into it. Without this
// script every row stays visible (the toggles are served hidden and shown here).
function initChildToggles() {
  "use strict";
  const table = document.getElementById("runs");
  if (!table) return;
  function descendants(id) {
    const out = [];
    table.querySelectorAll('tr[data-parent-id="' + CSS.escape(id) + '"]').forEach(function (row) {
      out.push(row);
      descendants(row.dataset.runId).forEach(function (r) { out.push(r); });
    });
    return out;
  }
  function setOpen(button, open) {
    const name = button.getAttribute("aria-label").replace(/^(Hide|Show) /, "");
    button.setAttribute("aria-expanded", String(open));
    button.setAttribute("aria-label", (open ? "Hide " : "Show ") + name);
    button.textContent = open ? "▾" : "▸";
    descendants(button.dataset.runId).forEach(function (row) {
      row.hidden = !open;
      const inner = row.querySelector("button.toggle-children");
      if (open && inner && inner.getAttribute("aria-expanded") === "false") {
        descendants(inner.dataset.runId).forEach(function (r) { r.hidden = true; });  // keep collapsed subtrees collapsed
      }
    });
  }
  table.querySelectorAll("button.toggle-children").forEach(function (button) {
    button.hidden = false;
    setOpen(button, false);  // collapsed at first, as MLflow's table shows them
    button.addEventListener("click", function () { setOpen(button, button.getAttribute("aria-expanded") !== "true"); });
  });
}

// The column chooser: one checkbox per metric/param column; the hidden ones are remembered per
// experiment in this browser (localStorage).
function initColumnChooser() {
  "use strict";
  const table = document.getElementById("runs"), chooser = document.getElementById("column-chooser");
  if (!table || !chooser) return;
  const storeKey = "trackflow.hiddenColumns." + chooser.dataset.experimentId;
  let hidden = [];
  try { hidden = JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { hidden = []; }
  const boxes = Array.from(chooser.querySelectorAll("input[data-col]"));
  function apply() {
    const off = new Set(boxes.filter(function (b) { return !b.checked; }).map(function (b) { return b.dataset.col; }));
    table.querySelectorAll("[data-col]").forEach(function (cell) { cell.hidden = off.has(cell.dataset.col); });
    ["m", "p"].forEach(function (group) {
      const th = table.querySelector('th[data-group="' + group + '"]');
      if (!th) return;
      const shown = boxes.filter(function (b) { return b.checked && b.dataset.col.slice(0, 1) === group; }).length;
      th.hidden = shown === 0;
      th.colSpan = Math.max(shown, 1);
    });
    try { localStorage.setItem(storeKey, JSON.stringify(Array.from(off))); } catch (e) { /* private mode: not remembered */ }
  }
  boxes.forEach(function (b) {
    b.checked = hidden.indexOf(b.dataset.col) < 0;
    b.addEventListener("change", apply);
  });
  chooser.hidden = boxes.length === 0;
  apply();
}

// Sorting: the column headers are links to this page with the search's order_by set (they work
// without script); here a click or Enter fetches that page and swaps the runs table in, keeping
// the URL (history) in step, and focus on the same header.
(function () {
  "use strict";
  const region = document.getElementById("runs-region");
  function init() { initChildToggles(); initColumnChooser(); }
  function load(url, focusColumn) {
    return fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })  // a 400 page still carries the error box
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("runs-region");
        if (!fresh) { window.location.assign(url); return; }
        const current = document.getElementById("runs-region");
        current.replaceWith(document.importNode(fresh, true));
        init();
        if (focusColumn) {
          const link = document.querySelector('#runs th[data-sort-column="' + CSS.escape(focusColumn) + '"] a.sort');
          if (link) { link.focus(); }
        }
      });
  }
  if (region) {
    document.addEventListener("click", function (event) {
      const link = event.target.closest && event.target.closest("#runs th a.sort");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
      event.preventDefault();
      const column = link.parentElement.dataset.sortColumn;
      load(link.href, column).then(function () { history.pushState({ sorted: true }, "", link.href); });
    });
    window.addEventListener("popstate", function () { load(window.location.href, null); });
    document.addEventListener("edit:updated", init);  // editing.js re-rendered the table (a run restored)
  }
  init();
})();
