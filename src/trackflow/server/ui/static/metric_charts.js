// Interactive metric charts on the run page (uPlot, vendored). Each <figure class="chart"> holds the
// server-rendered SVG as the no-script fallback; this replaces it with a uPlot chart fed from
// /api/v1/ui/runs/{id}/metric-series. Dragging over the chart zooms: the series is re-fetched for
// that x range, downsampled on the server, so a zoomed chart shows full detail.
(function () {
  "use strict";
  const MAX_POINTS = 500;

  function ema(values, weight) {
    // TensorBoard-style exponential moving average with debiasing (first points are not pulled to 0).
    if (!weight) return values;
    let last = 0, n = 0;
    return values.map(function (v) {
      if (v === null) return null;
      last = last * weight + (1 - weight) * v; n += 1;
      return last / (1 - Math.pow(weight, n));
    });
  }

  function control(html) {
    const label = document.createElement("label");
    label.innerHTML = html;
    return label;
  }

  function setUp(figure) {
    const key = figure.dataset.metric;
    const state = { x: "step", log: false, smooth: 0, range: null, series: null };
    const controls = document.createElement("div");
    controls.className = "chart-controls";
    const axis = control('X axis <select><option value="step">step</option><option value="relative">relative time</option><option value="wall">wall time</option></select>');
    const log = control('<input type="checkbox"> log scale');
    const smooth = control('smoothing <input type="range" min="0" max="0.99" step="0.01" value="0"> <output>0</output>');
    const reset = document.createElement("button");
    reset.type = "button"; reset.textContent = "Reset zoom"; reset.disabled = true;
    const status = document.createElement("span");
    status.className = "muted chart-status"; status.setAttribute("aria-live", "polite");
    [axis, log, smooth, reset, status].forEach(function (el) { controls.appendChild(el); });
    const holder = document.createElement("div");
    holder.className = "chart-live";
    const select = axis.querySelector("select"), logBox = log.querySelector("input");
    const slider = smooth.querySelector("input"), sliderOut = smooth.querySelector("output");
    select.setAttribute("aria-label", "X axis of " + key);
    logBox.setAttribute("aria-label", "Log scale for " + key);
    slider.setAttribute("aria-label", "Smoothing of " + key);
    let plot = null;

    function build() {
      const s = state.series;
      const xs = s.points.map(function (p) { return p[0]; });
      let ys = s.points.map(function (p) { return p[1]; });
      if (state.log) ys = ys.map(function (v) { return v > 0 ? v : null; });  // log of <= 0 is undefined
      const data = [xs, ys];
      const series = [{ label: s.x_label }, { label: key, stroke: "#9bb9db", width: 1, points: { show: xs.length < 60 } }];
      if (state.smooth) {
        data.push(ema(ys, state.smooth));
        series.push({ label: key + " (smoothed)", stroke: "#2f6fb3", width: 2, points: { show: false } });
      } else {
        series[1].stroke = "#2f6fb3"; series[1].width = 1.5;
      }
      const opts = {
        width: Math.max(320, Math.min(560, figure.parentElement.clientWidth - 20)),
        height: 240,
        scales: { x: { time: state.x === "wall" }, y: { distr: state.log ? 3 : 1 } },
        axes: [{ label: state.x === "wall" ? "" : s.x_label }, {}],
        series: series,
        cursor: { drag: { x: true, y: false, setScale: false } },
        hooks: {
          setSelect: [function (u) {
            if (u.select.width < 3) return;
            const lo = u.posToVal(u.select.left, "x"), hi = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            state.range = [lo, hi];
            load();
          }],
        },
      };
      if (plot) plot.destroy();
      plot = new uPlot(opts, data, holder);
      figure.dataset.plotted = String(xs.length);
      figure.dataset.log = String(state.log);
      figure.dataset.xAxis = state.x;
      if (state.range) { figure.dataset.xMin = state.range[0]; figure.dataset.xMax = state.range[1]; }
      else { delete figure.dataset.xMin; delete figure.dataset.xMax; }
      reset.disabled = !state.range;
      status.textContent = xs.length + " of " + s.total_points + " values plotted" + (state.range ? " (zoomed)" : "");
    }

    function load() {
      const params = new URLSearchParams({ key: key, max_points: String(MAX_POINTS), x: state.x });
      if (state.range) { params.set("x_min", String(state.range[0])); params.set("x_max", String(state.range[1])); }
      figure.dataset.loading = "true";
      return fetch(figure.dataset.seriesUrl + "?" + params, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) throw new Error(res.body.message || "could not load " + key);
          state.series = res.body;
          const fallback = figure.querySelector(".chart-static");
          if (fallback) fallback.remove();
          build();
        })
        .catch(function (err) { status.textContent = String(err.message || err); status.setAttribute("role", "alert"); })
        .finally(function () { delete figure.dataset.loading; });
    }

    select.addEventListener("change", function () { state.x = select.value; state.range = null; load(); });
    logBox.addEventListener("change", function () { state.log = logBox.checked; if (state.series) build(); });
    slider.addEventListener("input", function () {
      state.smooth = Number(slider.value); sliderOut.textContent = slider.value;
      if (state.series) build();
    });
    reset.addEventListener("click", function () { state.range = null; load(); });
    figure.insertBefore(controls, figure.querySelector(".chart-static"));
    figure.appendChild(holder);
    load();
  }

  function start() {
    if (typeof uPlot === "undefined") return;  // the vendored file is missing: keep the SVGs
    document.querySelectorAll("figure.chart[data-series-url]").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
