// The compare page's plots: overlaid metric histories (uPlot, one series per run), a scatter plot of
// two chosen metrics/params and a parallel-coordinates plot (plain SVG: uPlot has no such chart).
// Data: the page's JSON twin (/api/v1/ui/experiments/{id}/compare) and each run's downsampled
// metric series (/api/v1/ui/runs/{id}/metric-series).
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#2f6fb3", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#e67700", "#5c940d", "#a61e4d", "#495057"];
  const root = document.getElementById("compare-plots");
  if (!root) return;

  function el(name, attrs, parent, text) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function fmt(v) { return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(+v.toFixed(4)); }
  function runName(run) { return run.run_name || run.run_id; }

  // Numeric dimensions: every metric, and each param whose values all parse as numbers.
  function dimensions(page) {
    const dims = [];
    page.metrics.forEach(function (row) {
      dims.push({ label: row.key, kind: "metric", values: row.values.map(function (v) { return v === null ? null : Number(v); }) });
    });
    page.params.forEach(function (row) {
      const nums = row.values.map(function (v) { return v === null || v === "" || isNaN(Number(v)) ? null : Number(v); });
      if (nums.every(function (v, i) { return v !== null || row.values[i] === null; }) && nums.some(function (v) { return v !== null; })) {
        dims.push({ label: row.key, kind: "param", values: nums });
      }
    });
    return dims.map(function (d) {
      const finite = d.values.filter(function (v) { return v !== null && isFinite(v); });
      d.min = Math.min.apply(null, finite); d.max = Math.max.apply(null, finite);
      d.name = d.kind + ": " + d.label;
      return d;
    });
  }

  function scale(d, v, lo, hi) {
    const span = d.max - d.min;
    return span ? lo + (v - d.min) / span * (hi - lo) : (lo + hi) / 2;
  }

  function drawScatter(page, dims) {
    const holder = document.getElementById("scatter-plot");
    const xSel = document.getElementById("scatter-x"), ySel = document.getElementById("scatter-y");
    holder.textContent = "";
    const dx = dims[xSel.selectedIndex], dy = dims[ySel.selectedIndex];
    const W = 520, H = 320, L = 60, R = 20, T = 15, B = 45;
    const svg = el("svg", { class: "plot-svg", width: W, height: H, role: "img", "aria-label": "Scatter plot of " + dy.name + " against " + dx.name }, holder);
    el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }, svg);
    el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }, svg);
    el("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle" }, svg, dx.name);
    el("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (T + H - B) / 2 + ")" }, svg, dy.name);
    el("text", { x: L, y: H - B + 15, "text-anchor": "start" }, svg, fmt(dx.min));
    el("text", { x: W - R, y: H - B + 15, "text-anchor": "end" }, svg, fmt(dx.max));
    el("text", { x: L - 4, y: H - B, "text-anchor": "end" }, svg, fmt(dy.min));
    el("text", { x: L - 4, y: T + 10, "text-anchor": "end" }, svg, fmt(dy.max));
    let plotted = 0;
    page.runs.forEach(function (run, i) {
      const x = dx.values[i], y = dy.values[i];
      if (x === null || y === null || !isFinite(x) || !isFinite(y)) return;
      const dot = el("circle", { class: "scatter-point", "data-run-id": run.run_id, r: 5, fill: COLORS[i % COLORS.length],
        cx: scale(dx, x, L + 8, W - R - 8), cy: scale(dy, y, H - B - 8, T + 8) }, svg);
      el("title", {}, dot, runName(run) + ": " + dx.name + " = " + fmt(x) + ", " + dy.name + " = " + fmt(y));
      plotted += 1;
    });
    holder.dataset.points = String(plotted);
  }

  function drawParallel(page, dims) {
    const holder = document.getElementById("parallel-plot");
    const gap = 130, W = Math.max(360, 60 + gap * (dims.length - 1) + 60), H = 300, T = 30, B = 30;
    const svg = el("svg", { class: "plot-svg", width: W, height: H, role: "img",
      "aria-label": "Parallel coordinates of " + page.runs.length + " runs over " + dims.length + " axes" }, holder);
    const xAt = function (j) { return 60 + j * gap; };
    dims.forEach(function (d, j) {
      el("line", { x1: xAt(j), y1: T, x2: xAt(j), y2: H - B, stroke: "#999" }, svg);
      el("text", { x: xAt(j), y: T - 16, "text-anchor": "middle", class: "axis-label" }, svg, d.name);
      el("text", { x: xAt(j), y: T - 3, "text-anchor": "middle" }, svg, fmt(d.max));
      el("text", { x: xAt(j), y: H - B + 14, "text-anchor": "middle" }, svg, fmt(d.min));
    });
    page.runs.forEach(function (run, i) {
      const pts = [];
      dims.forEach(function (d, j) {
        const v = d.values[i];
        if (v !== null && isFinite(v)) pts.push(xAt(j) + "," + scale(d, v, H - B, T));
      });
      if (pts.length < 2) return;
      const line = el("polyline", { class: "parallel-line", "data-run-id": run.run_id, points: pts.join(" "), fill: "none",
        stroke: COLORS[i % COLORS.length], "stroke-width": 2, opacity: 0.8 }, svg);
      el("title", {}, line, runName(run));
    });
  }

  function drawChart(page, figure) {
    const key = figure.dataset.metric;
    const runs = page.runs.filter(function (run) { return key in run.metrics; });
    const status = document.createElement("p");
    status.className = "muted chart-status"; status.setAttribute("aria-live", "polite");
    const reset = document.createElement("button");
    reset.type = "button"; reset.textContent = "Reset zoom"; reset.disabled = true;
    reset.setAttribute("aria-label", "Reset zoom of " + key);
    const bar = document.createElement("div");
    bar.className = "chart-controls";
    bar.appendChild(reset); bar.appendChild(status);
    figure.appendChild(bar);
    const holder = document.createElement("div");
    figure.appendChild(holder);
    let plot = null, range = null;

    function load() {
      figure.dataset.loading = "true";
      // One request for every run's series: the server reads them in one query.
      // A 560-pixel chart of many overlaid lines needs fewer points per line: 500 for a few runs, 200 for 50.
      const perRun = Math.max(200, Math.min(500, Math.floor(10000 / page.runs.length)));
      const params = new URLSearchParams({ key: key, max_points: String(perRun), x: "step" });
      page.runs.forEach(function (run) { params.append("runs", run.run_id); });  // 2 or more, as the server wants
      if (range) { params.set("x_min", String(range[0])); params.set("x_max", String(range[1])); }
      fetch(root.dataset.seriesUrl + "?" + params).then(function (r) {
        if (!r.ok) throw new Error("could not load " + key);
        return r.json();
      }).then(function (body) {
        const byRun = {};
        body.series.forEach(function (s) { byRun[s.run_id] = s; });
        const all = runs.map(function (run) { return byRun[run.run_id] || { points: [] }; });
        const data = uPlot.join(all.map(function (s) {
          return [s.points.map(function (p) { return p[0]; }), s.points.map(function (p) { return p[1]; })];
        }));
        const series = [{ label: "step" }].concat(runs.map(function (run) {
          const i = page.runs.indexOf(run);
          return { label: runName(run), stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true };
        }));
        if (plot) plot.destroy();
        plot = new uPlot({ width: Math.min(560, Math.max(320, figure.parentElement.clientWidth - 20)), height: 240, series: series,
          scales: { x: { time: false } }, axes: [{ label: "step" }, {}],
          cursor: { drag: { x: true, y: false, setScale: false } },
          hooks: { setSelect: [function (u) {
            if (u.select.width < 3) return;
            range = [u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x")];
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            load();
          }] } }, data, holder);
        figure.dataset.series = String(runs.length);
        figure.dataset.plotted = String(data[0].length);
        if (range) { figure.dataset.xMin = range[0]; figure.dataset.xMax = range[1]; }
        else { delete figure.dataset.xMin; delete figure.dataset.xMax; }
        reset.disabled = !range;
        status.textContent = runs.length + " run" + (runs.length === 1 ? "" : "s") + (range ? " (zoomed)" : "");
      }).catch(function (err) { status.textContent = String(err.message || err); status.setAttribute("role", "alert"); })
        .finally(function () { delete figure.dataset.loading; });
    }
    reset.addEventListener("click", function () { range = null; load(); });
    load();
  }

  function start() {
    fetch(root.dataset.compareUrl).then(function (r) { return r.json(); }).then(function (page) {
      if (typeof uPlot !== "undefined") root.querySelectorAll("figure.compare-chart").forEach(function (f) { drawChart(page, f); });
      const dims = dimensions(page);
      if (dims.length >= 1) {
        const xSel = document.getElementById("scatter-x"), ySel = document.getElementById("scatter-y");
        dims.forEach(function (d) { xSel.add(new Option(d.name)); ySel.add(new Option(d.name)); });
        ySel.selectedIndex = dims.length > 1 ? 1 : 0;
        xSel.addEventListener("change", function () { drawScatter(page, dims); });
        ySel.addEventListener("change", function () { drawScatter(page, dims); });
        document.getElementById("compare-scatter").hidden = false;
        drawScatter(page, dims);
      }
      if (dims.length >= 2) {
        document.getElementById("compare-parallel").hidden = false;
        drawParallel(page, dims);
      }
      root.dataset.ready = "true";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
