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
