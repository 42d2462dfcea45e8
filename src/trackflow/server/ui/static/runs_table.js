// The runs table: child runs listed under their parent can be collapsed into it. Without this
// script every row stays visible (the toggles are served hidden and shown here).
(function () {
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
})();

// The column chooser: one checkbox per metric/param column; the hidden ones are remembered per
// experiment in this browser (localStorage).
(function () {
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
})();
