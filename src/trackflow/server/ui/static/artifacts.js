// The run page's artifact browser: a tree (the WAI-ARIA tree pattern: one focusable item, arrow
// keys move, Right/Left open/close, Enter previews) whose directories are listed one level at a
// time from /api/v1/ui/runs/{id}/artifacts/list, and a preview pane filled from .../preview.
// Every value from the server goes into the page as text (textContent), never as HTML; HTML and
// SVG artifacts are shown only through a sandboxed <iframe>/<img> of a URL served under a
// sandboxing Content-Security-Policy.
(function () {
  "use strict";
  const tree = document.getElementById("artifact-tree");
  const pane = document.getElementById("artifact-preview");
  if (!tree || !pane) return;
  const listUrl = tree.dataset.listUrl, previewUrl = tree.dataset.previewUrl;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function filesize(n) {
    if (n === null || n === undefined || n === "") return "";
    let amount = Number(n);
    const units = ["B", "KB", "MB", "GB"];
    for (let i = 0; i < units.length; i++) {
      if (amount < 1024 || i === units.length - 1) return i === 0 ? amount + " B" : amount.toFixed(1) + " " + units[i];
      amount /= 1024;
    }
    return "";
  }
  async function getJson(url) {
    const answer = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await answer.json().catch(function () { return {}; });
    if (!answer.ok) throw new Error(body.message || ("HTTP " + answer.status));
    return body;
  }
  // An item of a logged model's subtree carries the model's id: its files live in that model's store.
  function itemUrl(url, item) {
    const model = item.dataset.modelId;
    return url + "?path=" + encodeURIComponent(item.dataset.path) + (model ? "&model_id=" + encodeURIComponent(model) : "");
  }

  // The tree ---------------------------------------------------------------------------------
  function visibleItems() {
    return Array.from(tree.querySelectorAll('[role="treeitem"]')).filter(function (item) {
      return !item.parentElement.closest('[role="group"][hidden]');
    });
  }
  function focusItem(item) {
    if (!item) return;
    tree.querySelectorAll('[role="treeitem"][tabindex="0"]').forEach(function (i) { i.tabIndex = -1; });
    item.tabIndex = 0;
    item.focus();
  }
  function parentItem(item) { return item.parentElement.closest('[role="treeitem"]'); }
  function indent(item) {
    const level = Number(item.getAttribute("aria-level") || "1");
    item.querySelector(".node").style.setProperty("--indent", String(level - 1));
  }

  function makeItem(entry, level) {
    const item = el("li", { role: "treeitem", "aria-level": String(level), "aria-selected": "false",
                            "aria-label": entry.name, "data-path": entry.path, tabindex: "-1" });
    const node = el("span", { class: "node" });
    node.appendChild(el("span", { class: "twisty", "aria-hidden": "true" }, entry.is_dir ? "▸" : ""));
    if (entry.model_id) item.dataset.modelId = entry.model_id;
    if (entry.is_dir) {
      item.dataset.dir = "1";
      item.setAttribute("aria-expanded", "false");
      node.appendChild(el("span", { class: "name" }, entry.name + "/"));
      item.appendChild(node);
      const group = el("ul", { role: "group" });
      group.hidden = true;
      item.appendChild(group);
    } else {
      node.appendChild(el("span", { class: "name" }, entry.name));
      node.appendChild(el("span", { class: "muted size" }, filesize(entry.file_size)));
      node.appendChild(el("a", { class: "download", href: entry.download_url, tabindex: "-1", download: "",
                                 "aria-label": "Download " + entry.name }, "⤓"));
      item.appendChild(node);
    }
    indent(item);
    return item;
  }

  async function expand(item, open) {
    if (!item.dataset.dir) return;
    const group = item.querySelector(':scope > [role="group"]');
    item.setAttribute("aria-expanded", String(open));
    item.querySelector(".twisty").textContent = open ? "▾" : "▸";
    group.hidden = !open;
    if (!open || item.dataset.loaded) return;
    item.dataset.loaded = "1";
    item.setAttribute("aria-busy", "true");
    group.replaceChildren(el("li", { role: "none", class: "muted" }, "Loading…"));
    try {
      const listing = await getJson(itemUrl(listUrl, item));
      const level = Number(item.getAttribute("aria-level")) + 1;
      group.replaceChildren();
      listing.entries.forEach(function (entry) { group.appendChild(makeItem(entry, level)); });
      if (!listing.entries.length) group.appendChild(el("li", { role: "none", class: "muted" }, "(empty)"));
      if (listing.truncated) {
        group.appendChild(el("li", { role: "none", class: "muted" }, "Only the first " + listing.entries.length + " entries are listed."));
      }
    } catch (err) {
      delete item.dataset.loaded;  // try again on the next open
      group.replaceChildren(el("li", { role: "alert", class: "error" }, "Cannot list " + item.dataset.path + ": " + err.message));
    } finally {
      item.removeAttribute("aria-busy");
    }
  }

  function select(item) {
    tree.querySelectorAll('[role="treeitem"][aria-selected="true"]').forEach(function (i) { i.setAttribute("aria-selected", "false"); });
    item.setAttribute("aria-selected", "true");
    focusItem(item);
    showPreview(item);
    // the URL names the selection (#artifact=<path>[&model_id=<id>]), so it can be shared or reloaded
    const where = new URLSearchParams();
    where.set("artifact", item.dataset.path);
    if (item.dataset.modelId) where.set("model_id", item.dataset.modelId);
    history.replaceState(null, "", "#" + where.toString());
  }

  // Opens the directories down to ``path`` (in the run's files, or the logged model's) and selects it.
  async function reveal(path, modelId) {
    let item = null;
    if (modelId) {
      item = Array.from(tree.children).find(function (i) { return i.dataset && i.dataset.modelId === modelId; });
      if (!item) return;
    }
    const parts = path.split("/").filter(function (p) { return p !== ""; });
    for (let i = 0; i < parts.length; i++) {
      if (item) await expand(item, true);
      const prefix = parts.slice(0, i + 1).join("/");
      const container = item ? item.querySelector(':scope > [role="group"]') : tree;
      item = Array.from(container.children).find(function (c) { return c.dataset && c.dataset.path === prefix; });
      if (!item) return;
    }
    if (item) { select(item); item.scrollIntoView({ block: "nearest" }); }
  }

  tree.querySelectorAll('[role="treeitem"]').forEach(indent);
  tree.addEventListener("click", function (event) {
    const item = event.target.closest('[role="treeitem"]');
    if (!item || event.target.closest("a.download")) return;  // the download link does its own thing
    event.preventDefault();  // a file name is a link only for pages without this script
    if (item.dataset.dir) expand(item, item.getAttribute("aria-expanded") !== "true");
    select(item);
  });
  tree.addEventListener("keydown", function (event) {
    const item = event.target.closest('[role="treeitem"]');
    if (!item) return;
    const items = visibleItems(), at = items.indexOf(item);
    const expanded = item.getAttribute("aria-expanded") === "true";
    let handled = true;
    switch (event.key) {
      case "ArrowDown": focusItem(items[at + 1]); break;
      case "ArrowUp": focusItem(items[at - 1]); break;
      case "Home": focusItem(items[0]); break;
      case "End": focusItem(items[items.length - 1]); break;
      case "ArrowRight":
        if (item.dataset.dir && !expanded) expand(item, true);
        else if (expanded) focusItem(item.querySelector(':scope > [role="group"] > [role="treeitem"]'));
        break;
      case "ArrowLeft":
        if (expanded) expand(item, false);
        else focusItem(parentItem(item));
        break;
      case "Enter":
      case " ":
        if (item.dataset.dir && event.key === "Enter") expand(item, !expanded);
        select(item);
        break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  });

  // The preview pane -------------------------------------------------------------------------
  let shown = 0;  // answers of an older selection arriving late are dropped

  async function showPreview(item) {
    const ticket = ++shown, path = item.dataset.path;
    pane.setAttribute("aria-busy", "true");
    pane.replaceChildren(el("p", { class: "muted" }, "Loading " + (path || "/") + "…"));
    try {
      const preview = await getJson(itemUrl(previewUrl, item));
      if (ticket === shown) pane.replaceChildren.apply(pane, render(preview, path || item.getAttribute("aria-label")));
    } catch (err) {
      if (ticket === shown) pane.replaceChildren(el("p", { class: "error", role: "alert" }, "Cannot preview " + path + ": " + err.message));
    } finally {
      if (ticket === shown) pane.removeAttribute("aria-busy");
    }
  }

  function header(preview, label) {
    const h = el("h3", { id: "preview-title" }, label + (preview.is_dir && preview.path ? "/" : ""));
    const meta = el("p", { class: "muted" });
    if (preview.size !== null && preview.size !== undefined) meta.appendChild(document.createTextNode(filesize(preview.size) + " · "));
    if (preview.download_url) {
      meta.appendChild(el("a", { id: "preview-download", href: preview.download_url, download: "" }, "Download"));
    } else if (preview.entries !== null && preview.entries !== undefined) {
      meta.appendChild(document.createTextNode(preview.entries + " entr" + (preview.entries === 1 ? "y" : "ies")));
    }
    return [h, meta];
  }

  function table(columns, rows, caption) {
    const t = el("table", { class: "grid" });
    if (caption) t.appendChild(el("caption", { class: "muted" }, caption));
    const head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", { scope: "col" }, c)); });
    t.appendChild(el("thead")).appendChild(head);
    const body = t.appendChild(el("tbody"));
    rows.forEach(function (row) {
      const tr = body.appendChild(el("tr"));
      row.forEach(function (v) { tr.appendChild(el("td", {}, v)); });
    });
    const wrap = el("div", { class: "table-wrap" });
    wrap.appendChild(t);
    return wrap;
  }

  function modelSummary(model) {
    const box = el("div", { class: "model-summary", id: "model-summary" });
    if (model.error) { box.appendChild(el("p", { class: "error" }, model.error)); return box; }
    box.appendChild(el("h4", {}, "Flavors"));
    const flavors = el("dl", { class: "meta" });
    Object.keys(model.flavors).forEach(function (name) {
      flavors.appendChild(el("dt", {}, name));
      const conf = model.flavors[name];
      flavors.appendChild(el("dd", { class: "mono" }, Object.keys(conf).filter(function (k) { return conf[k] !== ""; }).map(function (k) { return k + ": " + conf[k]; }).join(", ") || "—"));
    });
    box.appendChild(flavors);
    box.appendChild(el("h4", {}, "Signature"));
    if (!model.has_signature) { box.appendChild(el("p", { class: "muted" }, "This model has no signature.")); return box; }
    [["Inputs", model.inputs], ["Outputs", model.outputs], ["Params", model.params]].forEach(function (part) {
      if (!part[1].length) return;
      const rows = part[1].map(function (c) { return [c.name || "—", c.type, c.required ? "yes" : "no"]; });
      const wrap = table(["Name", "Type", "Required"], rows, part[0]);
      wrap.querySelector("table").setAttribute("aria-label", "Signature " + part[0].toLowerCase());
      box.appendChild(wrap);
    });
    return box;
  }

  function render(preview, label) {
    const out = header(preview, label);
    if (preview.message) out.push(el("p", { class: "muted", id: "preview-message" }, preview.message));
    switch (preview.kind) {
      case "text": case "json": case "yaml":
        out.push(el("pre", { class: "preview-text", "data-kind": preview.kind, tabindex: "0",
                             "aria-label": "Contents of " + preview.path }, preview.text));
        if (preview.truncated) out.push(el("p", { class: "muted" }, "Only the beginning of the file is shown."));
        break;
      case "table": {
        const total = preview.total_rows;
        const caption = "First " + preview.rows.length + " rows" + (total !== null && total !== undefined ? " of " + total : (preview.truncated ? " (more in the file)" : ""));
        out.push(table(preview.columns, preview.rows, caption));
        break;
      }
      case "image":
        out.push(el("img", { src: preview.raw_url, alt: "Preview of " + preview.path }));
        break;
      case "html":
        // sandbox without allow-scripts (and the server's CSP sandbox): the page's script never runs
        out.push(el("iframe", { src: preview.raw_url, sandbox: "", referrerpolicy: "no-referrer",
                                title: "HTML preview of " + preview.path }));
        break;
      case "model":
        out.push(modelSummary(preview.model));
        break;
      case "directory":
        break;
      default:
        if (!preview.message) out.push(el("p", { class: "muted", id: "preview-message" }, "No preview for this file."));
    }
    return out;
  }

  // A link to one artifact (#artifact=<path>, also what MLflow's .../runs/<id>/artifacts/<path> becomes)
  if (window.location.hash.indexOf("#artifact=") === 0) {
    const wanted = new URLSearchParams(window.location.hash.slice(1));
    reveal(wanted.get("artifact") || "", wanted.get("model_id"));
  }
})();
