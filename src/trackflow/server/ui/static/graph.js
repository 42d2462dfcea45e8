// The graph view: the DAG laid out by the vendored dagre (static/vendor/dagre) and drawn as SVG.
// Task groups are boxes that collapse into one node (click or Enter on the group); node colours
// are the chosen run's states, polled from the page's JSON twin while that run is unfinished.
(function () {
  "use strict";
  var holder = document.getElementById("graph");
  if (!holder || typeof dagre === "undefined") { return; }
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var collapsed = {};
  var SVG = "http://www.w3.org/2000/svg";
  var NODE_H = 34;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  // The visible node standing for a task: itself, or its outermost collapsed group.
  function shownAs(task) {
    var group = task.group;
    var shown = null;
    while (group) {
      if (collapsed[group]) { shown = "group:" + group; }
      var parent = data.groups.filter(function (g) { return g.group_id === group; })[0];
      group = parent ? parent.parent : null;
    }
    return shown || task.task_id;
  }

  function hiddenGroup(groupId) {
    var g = data.groups.filter(function (x) { return x.group_id === groupId; })[0];
    for (var p = g && g.parent; p; ) {
      if (collapsed[p]) { return true; }
      var parent = data.groups.filter(function (x) { return x.group_id === p; })[0];
      p = parent ? parent.parent : null;
    }
    return false;
  }

  var SEVERITY = ["failed", "upstream_failed", "up_for_retry", "running", "queued", "deferred", "up_for_reschedule", "scheduled", "none", "removed", "skipped", "success"];
  function worst(states) {
    for (var i = 0; i < SEVERITY.length; i++) { if (states.indexOf(SEVERITY[i]) >= 0) { return SEVERITY[i]; } }
    return "none";
  }

  function draw() {
    var active = document.activeElement;
    var focusKey = active && holder.contains(active) && (active.getAttribute("data-task-id") || active.getAttribute("data-group"));
    render();
    if (focusKey) {
      var again = holder.querySelector('[data-task-id="' + focusKey + '"], [data-group="' + focusKey + '"]');
      if (again) { again.focus(); }
    }
  }

  function render() {
    var g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 48, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    var groupStates = {};
    data.nodes.forEach(function (n) {
      var id = shownAs(n);
      if (id === n.task_id) {
        g.setNode(id, { label: n.label, width: Math.max(90, n.label.length * 7.5 + 24), height: NODE_H, task: n });
        if (n.group && !collapsed[n.group]) { g.setParent(id, "cluster:" + n.group); }
      } else {
        (groupStates[id] = groupStates[id] || []).push(n.state || "none");
      }
    });
    data.groups.forEach(function (grp) {
      if (hiddenGroup(grp.group_id)) { return; }
      if (collapsed[grp.group_id]) {
        var id = "group:" + grp.group_id;
        var label = grp.label + " (" + (groupStates[id] || []).length + ")";
        g.setNode(id, { label: label, width: Math.max(110, label.length * 7.5 + 34), height: NODE_H, group: grp, state: worst(groupStates[id] || []) });
        if (grp.parent) { g.setParent(id, "cluster:" + grp.parent); }
      } else {
        g.setNode("cluster:" + grp.group_id, { label: grp.label, group: grp, cluster: true });
        if (grp.parent) { g.setParent("cluster:" + grp.group_id, "cluster:" + grp.parent); }
      }
    });
    data.edges.forEach(function (e) {
      var byId = {};
      data.nodes.forEach(function (n) { byId[n.task_id] = n; });
      var a = shownAs(byId[e.source]);
      var b = shownAs(byId[e.target]);
      if (a !== b) { g.setEdge(a, b); }
    });
    // Empty expanded groups would confuse dagre: drop clusters without children.
    g.nodes().forEach(function (id) { if (id.indexOf("cluster:") === 0 && !(g.children(id) || []).length) { g.removeNode(id); } });
    dagre.layout(g);

    var size = g.graph();
    var svg = el("svg", { width: size.width, height: size.height, viewBox: "0 0 " + size.width + " " + size.height, class: "dag-graph" });
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8b949e" }, marker);
    g.nodes().filter(function (id) { return id.indexOf("cluster:") === 0; }).forEach(function (id) {
      var n = g.node(id);
      var box = el("g", { class: "cluster", tabindex: "0", role: "button", "aria-expanded": "true", "aria-label": "task group " + n.group.group_id + ": collapse", "data-group": n.group.group_id }, svg);
      el("rect", { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }, box);
      var t = el("text", { x: n.x - n.width / 2 + 8, y: n.y - n.height / 2 + 14 }, box);
      t.textContent = "▾ " + n.label;
    });
    g.edges().forEach(function (e) {
      var pts = g.edge(e).points;
      var d = pts.map(function (p, i) { return (i ? "L" : "M") + p.x + " " + p.y; }).join(" ");
      el("path", { d: d, class: "edge", "marker-end": "url(#arrow)", "data-edge": e.v + ">" + e.w }, svg);
    });
    g.nodes().filter(function (id) { return id.indexOf("cluster:") !== 0; }).forEach(function (id) {
      var n = g.node(id);
      var state = n.task ? (n.task.state || "none") : n.state;
      var attrs = { class: "node state-" + state, tabindex: "0", transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" };
      var node;
      if (n.task) {
        attrs["data-task-id"] = n.task.task_id;
        attrs["aria-label"] = n.task.task_id + ": " + (n.task.state || "no state") + " (" + n.task.operator + ")";
        node = n.task.url ? el("a", Object.assign(attrs, { href: n.task.url }), svg) : el("g", attrs, svg);
      } else {
        attrs["role"] = "button";
        attrs["aria-expanded"] = "false";
        attrs["data-group"] = n.group.group_id;
        attrs["aria-label"] = "task group " + n.group.group_id + ": " + state + ", collapsed: expand";
        attrs["class"] += " group-node";
        node = el("g", attrs, svg);
      }
      el("rect", { width: n.width, height: n.height, rx: 5 }, node);
      var text = el("text", { x: n.width / 2, y: n.height / 2 + 4, "text-anchor": "middle" }, node);
      text.textContent = (n.task ? "" : "▸ ") + n.label + (n.task && n.task.is_mapped ? " [ ]" : "");
    });
    holder.querySelectorAll("svg").forEach(function (old) { old.remove(); });
    holder.appendChild(svg);
  }

  function toggle(groupId) {
    collapsed[groupId] = !collapsed[groupId];
    draw();
    var again = holder.querySelector('[data-group="' + groupId + '"]');
    if (again) { again.focus(); }
  }

  holder.addEventListener("click", function (event) {
    var group = event.target.closest("[data-group]");
    if (group) { event.preventDefault(); toggle(group.getAttribute("data-group")); }
  });
  holder.addEventListener("keydown", function (event) {
    var group = event.target.closest && event.target.closest("[data-group]");
    if (group && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); toggle(group.getAttribute("data-group")); }
  });

  function poll() {
    if (!holder.hasAttribute("data-live")) { return; }
    window.setTimeout(function () {
      fetch(holder.getAttribute("data-graph-url"), { cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (fresh) {
          data = fresh;
          draw();
          if (!fresh.live) { holder.removeAttribute("data-live"); }
          poll();
        })
        .catch(poll);
    }, 2000);
  }

  draw();
  poll();
})();
