/// The script of `profhist report`'s page: reads the JSON data element and draws the overview chart, the growth
/// table, the flame graph and the differential flame graph as SVG. Plain ES2017, no libraries, no network.
enum HTMLReportScript {
    static let source = #"""
"use strict";
const DATA = JSON.parse(document.getElementById("report-data").textContent);
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// MARK: helpers
function h(tag, attrs, children) {
  const svg = ["svg","g","rect","line","polyline","circle","text","path","title"].includes(tag);
  const e = svg ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of [].concat(children || [])) if (c !== undefined && c !== null) e.append(c.nodeType ? c : String(c));
  return e;
}
function human(v, bytes) {
  if (v === null || v === undefined || !isFinite(v)) return "";
  const a = Math.abs(v);
  if (a < 0.5) return "0" + (bytes ? " B" : "");
  if (bytes) {
    const units = ["B","KiB","MiB","GiB","TiB"]; let u = 0, x = a;
    while (x >= 1024 && u < units.length - 1) { x /= 1024; u++; }
    return (v < 0 ? "-" : "") + (u === 0 ? x.toFixed(0) : x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)) + " " + units[u];
  }
  if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  return Number.isInteger(v) ? String(v) : v.toFixed(a >= 100 ? 0 : 2);
}
function signed(v, bytes) { return (v >= 0.5 ? "+" : "") + human(v, bytes); }
function pfmt(p) { return p === null || !isFinite(p) ? "" : p === 0 ? "< 1e-300" : p < 1e-4 ? p.toExponential(1) : p.toFixed(4); }
function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
const tooltip = $("tooltip");
function showTip(ev, text) {
  tooltip.textContent = text; tooltip.style.display = "block";
  const x = Math.min(ev.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
  tooltip.style.left = x + "px"; tooltip.style.top = (ev.clientY + 16) + "px";
}
function hideTip() { tooltip.style.display = "none"; }

// MARK: line charts
// spec: labels, values, runs ([{name, values}]), markers ([{index, text}]), bytes, width, height
function lineChart(spec) {
  const W = spec.width || 900, H = spec.height || 240, L = 64, R = 16, T = 28, B = 50;
  const all = spec.values.concat(...(spec.runs || []).map(r => r.values)).filter(v => v !== null && isFinite(v));
  let lo = Math.min(0, ...all), hi = Math.max(1, ...all);
  if (hi === lo) hi = lo + 1;
  const n = spec.labels.length;
  const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : i * (W - L - R) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const svg = h("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img"});
  const grid = h("g", {class: "grid"});
  for (let k = 0; k <= 4; k++) {
    const v = lo + (hi - lo) * k / 4;
    grid.append(h("line", {x1: L, x2: W - R, y1: y(v), y2: y(v)}));
    grid.append(h("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"}, human(v, spec.bytes)));
  }
  svg.append(grid);
  const step = Math.max(1, Math.ceil(n / Math.max(1, Math.floor((W - L - R) / 70))));
  for (let i = 0; i < n; i += step) {
    const label = spec.labels[i].length > 12 ? spec.labels[i].slice(0, 11) + "…" : spec.labels[i];
    svg.append(h("text", {x: x(i), y: H - B + 16, "text-anchor": "middle", class: "xlabel"}, label));
  }
  // A marker's label only where it does not overlap the labels already placed.
  const placed = [];
  for (const m of spec.markers || []) {
    const g = h("g", {class: "regression-marker", "data-point": spec.labels[m.index]});
    g.append(h("line", {x1: x(m.index), x2: x(m.index), y1: T - 4, y2: H - B}, h("title", {}, m.text)));
    const right = x(m.index) > W * 0.6, width = 6.5 * m.text.length;
    const from = right ? x(m.index) - 4 - width : x(m.index) + 4;
    if (!placed.some(([a, b]) => from < b + 8 && from + width > a - 8)) {
      placed.push([from, from + width]);
      g.append(h("text", {x: x(m.index) + (right ? -4 : 4), y: T - 8, "text-anchor": right ? "end" : "start"}, m.text));
    }
    svg.append(g);
  }
  for (const r of spec.runs || []) r.values.forEach((v, i) => {
    if (v !== null) svg.append(h("circle", {class: "replicate", cx: x(i), cy: y(v), r: 3}, h("title", {}, `${r.name} @ ${spec.labels[i]}: ${human(v, spec.bytes)}`)));
  });
  svg.append(h("polyline", {class: "series", points: spec.values.map((v, i) => `${x(i)},${y(v)}`).join(" ")}));
  spec.values.forEach((v, i) => svg.append(h("circle", {class: "point", cx: x(i), cy: y(v), r: n > 60 ? 1.5 : 3.5, "data-point": spec.labels[i]},
    h("title", {}, `${spec.labels[i]}: ${human(v, spec.bytes)} (mean)`))));
  if (spec.axisTitle) svg.append(h("text", {x: L, y: H - 8}, spec.axisTitle));
  return svg;
}
function sparkline(values, changeIndex) {
  const W = 110, H = 22, n = values.length;
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  const x = (i) => 2 + (n <= 1 ? 0 : i * (W - 4) / (n - 1)), y = (v) => H - 2 - (H - 4) * (v - lo) / span;
  const svg = h("svg", {class: "spark", width: W, height: H});
  if (changeIndex >= 0) svg.append(h("line", {class: "change-marker", x1: x(changeIndex), x2: x(changeIndex), y1: 0, y2: H}));
  svg.append(h("polyline", {points: values.map((v, i) => `${x(i)},${y(v)}`).join(" ")}));
  return svg;
}

// MARK: overview
function overview(section, chartId, noteId) {
  // Markers in rank order (the top regression first), so the biggest growth keeps its label when they crowd.
  const rankAt = (p) => section.rows.findIndex(r => r.significant && r.regressedAt === p);
  const markers = section.regressions.slice().sort((a, b) => rankAt(a.point) - rankAt(b.point))
    .map(r => ({index: section.points.indexOf(r.point), text: `▲ ${r.point}: ${r.leaves.slice(0, 2).join(", ")}${r.leaves.length > 2 ? "…" : ""}`}));
  const box = $(chartId);
  box.append(lineChart({labels: section.points, values: section.totals, runs: section.runs.length > 1 || section.axis === "build" ? section.runs : [],
    markers, bytes: section.isBytes, width: 1200, height: 260,
    axisTitle: `${section.metric} per ${section.axis} (line: mean; dots: runs)`}));
  $(noteId).textContent = `${section.points.length} ${section.axis}s, ${section.runs.length} run(s), ${section.keysTested} stacks tested. ` +
    (markers.length ? `Significant growth began at: ${section.regressions.map(r => r.point).join(", ")} (red dashed lines).` : "No significant growth.");
}

// MARK: growth table
function growthTable(tableId, searchId, countId, section, rowsOf) {
  const table = $(tableId), bytes = section.isBytes;
  const cols = [
    {key: "rank", label: "#"}, {key: "leaf", label: "leaf", text: true}, {key: "trend", label: "trend", text: true, nosort: true},
    {key: "first", label: "first", unit: true}, {key: "last", label: "last", unit: true}, {key: "delta", label: "delta", unit: true},
    {key: "change", label: "change", unit: true}, {key: "slope", label: "slope/pt", unit: true}, {key: "share", label: "share"},
    {key: "pValue", label: "p"}, {key: "qValue", label: "q"}, {key: "regressedAt", label: "regressed at", text: true}];
  let state = {key: "rank", dir: 1}, open = new Set();
  const head = h("tr");
  for (const c of cols) {
    const th = h("th", {class: c.text ? "text" : "", "data-key": c.key, scope: "col"}, c.label);
    if (!c.nosort) th.addEventListener("click", () => {
      state = {key: c.key, dir: state.key === c.key ? -state.dir : (c.text || c.key === "rank" ? 1 : -1)}; draw();
    });
    head.append(th);
  }
  table.append(h("thead", {}, head));
  const body = h("tbody"); table.append(body);
  const search = $(searchId);
  search.addEventListener("input", draw);
  function cell(row, c) {
    const v = row[c.key];
    switch (c.key) {
      case "trend": return sparkline(row.series, row.regressedAt ? section.points.indexOf(row.regressedAt) : -1);
      case "leaf": return h("span", {title: row.stack}, v);
      case "regressedAt": return v ? h("span", {class: "badge"}, v) : h("span", {class: "badge quiet", title: "no significant growth"}, "none");
      case "share": return (100 * v).toFixed(2) + "%";
      case "pValue": case "qValue": return pfmt(v);
      case "rank": return String(v);
      default: return c.key === "slope" ? signed(v, bytes) : c.key === "delta" || c.key === "change" ? signed(v, bytes) : human(v, bytes);
    }
  }
  function detail(row) {
    const frames = row.frames ? h("ol", {class: "frames"}, row.frames.map(f => h("li", {class: f.role ? "role-" + f.role : ""},
        [f.name, f.location ? h("span", {class: "loc"}, "  " + f.location) : null, f.role ? h("span", {class: "loc"}, "  [" + f.role + "]") : null])))
      : h("ol", {class: "frames"}, row.stack.split(";").map(n => h("li", {}, n)));
    const ci = row.regressedAt ? section.points.indexOf(row.regressedAt) : -1;
    const chart = lineChart({labels: section.points, values: row.series, bytes, width: 560, height: 220,
      markers: ci >= 0 ? [{index: ci, text: "▲ " + row.regressedAt}] : [], axisTitle: `stack ${row.id}: ${section.metric} per ${section.axis}`});
    return h("td", {colspan: cols.length}, h("div", {class: "detail-grid"}, [h("div", {}, [h("div", {class: "note"}, "stack, root to leaf"), frames]), chart]));
  }
  function draw() {
    const q = search.value.trim().toLowerCase();
    const rows = rowsOf().slice().sort((a, b) => {
      const va = a[state.key], vb = b[state.key];
      if (va === vb) return a.rank - b.rank;
      if (va === null || va === undefined) return 1;
      if (vb === null || vb === undefined) return -1;
      return (va < vb ? -1 : 1) * state.dir;
    });
    for (const th of head.children) th.removeAttribute("aria-sort");
    head.querySelector(`[data-key="${state.key}"]`).setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
    body.textContent = "";
    let shown = 0;
    for (const row of rows) {
      const match = !q || row.stack.toLowerCase().includes(q) || row.leaf.toLowerCase().includes(q);
      const tr = h("tr", {class: "growth-row" + (row.significant ? " significant" : "") + (match ? "" : " hidden"), "data-id": row.id, "data-leaf": row.leaf},
        cols.map(c => h("td", {class: (c.text ? "text " : "") + c.key}, cell(row, c))));
      tr.addEventListener("click", () => { open.has(row.id) ? open.delete(row.id) : open.add(row.id); draw(); });
      body.append(tr);
      if (match) shown++;
      if (open.has(row.id) && match) body.append(h("tr", {class: "detail", "data-id": row.id}, detail(row)));
    }
    $(countId).textContent = `${shown} of ${rows.length} rows` + (rows.length ? "" : " (nothing to rank)");
  }
  draw();
}

// MARK: flame graphs
const F = DATA.flame;
let children = null;
if (F) {
  children = F.parents.map(() => []);
  F.parents.forEach((p, i) => { if (p >= 0) children[p].push(i); });
}
function hue(name) {
  let x = 0; for (let i = 0; i < name.length; i++) x = (x * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${20 + x % 35}, ${70 + x % 20}%, ${58 + (x >> 8) % 12}%)`;
}
// A flame graph (icicle: roots on top). view: {width(n), fill(n), cls(n), tip(n), total}; state: {focus, search}.
function flame(boxId, infoId, view, state) {
  // A fixed drawing width, scaled to the box by CSS: reading the box's width would force a layout of the page.
  const box = $(boxId), RH = 18, W = 1200;
  const roots = F.parents.map((p, i) => p < 0 ? i : -1).filter(i => i >= 0);
  const sortKids = (ks) => ks.filter(k => view.width(k) > 0).sort((a, b) => view.width(b) - view.width(a));
  const rects = [];
  const ancestors = [];
  for (let a = state.focus; a !== null && a >= 0; a = F.parents[a]) ancestors.unshift(a);
  let scale, x0 = 0;
  if (state.focus !== null) {
    scale = W / view.width(state.focus);
    ancestors.forEach((a, d) => rects.push({n: a, x: 0, w: W, d, ancestor: a !== state.focus}));
  } else scale = W / Math.max(1, view.total);
  function place(n, x, d) {
    const w = view.width(n) * scale;
    rects.push({n, x, w, d});
    let cx = x;
    for (const k of sortKids(children[n])) { place(k, cx, d + 1); cx += view.width(k) * scale; }
  }
  if (state.focus !== null) {
    const d = ancestors.length - 1; rects.pop();
    place(state.focus, x0, d);
  } else {
    let cx = 0; for (const r of sortKids(roots)) { place(r, cx, 0); cx += view.width(r) * scale; }
  }
  const depth = rects.reduce((m, r) => Math.max(m, r.d), 0) + 1;
  const svg = h("svg", {width: W, height: depth * RH + 2, viewBox: `0 0 ${W} ${depth * RH + 2}`});
  const re = state.search ? new RegExp(escapeRegExp(state.search), "i") : null;
  let matched = 0;
  const matchedNodes = new Set();
  for (const r of rects) {
    const name = F.names[F.nameOf[r.n]];
    const isMatch = re && re.test(name);
    if (isMatch) {
      matchedNodes.add(r.n);
      let p = F.parents[r.n], covered = false;
      while (p >= 0) { if (matchedNodes.has(p)) { covered = true; break; } p = F.parents[p]; }
      if (!covered && !r.ancestor) matched += view.width(r.n);
    }
    svg.append(h("rect", {class: "frame " + (view.cls(r.n) || "") + (isMatch ? " match" : "") + (r.ancestor ? " ancestor" : ""),
      x: r.x.toFixed(2), y: r.d * RH, width: Math.max(0.3, r.w).toFixed(2), height: RH - 1, fill: view.fill(r.n),
      "data-node": r.n, "data-name": name, "data-value": view.width(r.n), "data-depth": r.d}));
    if (r.w > 28) {
      const chars = Math.floor((r.w - 6) / 6.7);
      const label = view.prefix(r.n) + name;
      svg.append(h("text", {class: "label", x: r.x + 3, y: r.d * RH + 13}, label.length > chars ? label.slice(0, Math.max(0, chars - 1)) + "…" : label));
    }
  }
  svg.addEventListener("mousemove", (ev) => {
    const n = ev.target.getAttribute && ev.target.getAttribute("data-node");
    if (n === null || n === undefined) { hideTip(); return; }
    showTip(ev, view.tip(Number(n)));
  });
  svg.addEventListener("mouseleave", hideTip);
  svg.addEventListener("click", (ev) => {
    const n = ev.target.getAttribute && ev.target.getAttribute("data-node");
    if (n === null || n === undefined) return;
    state.focus = Number(n) === state.focus ? F.parents[state.focus] : Number(n);
    if (state.focus < 0) state.focus = null;
    state.redraw();
  });
  box.textContent = ""; box.append(svg);
  const info = $(infoId);
  info.textContent = (view.summary || "") + (state.focus !== null ? `zoomed on ${F.names[F.nameOf[state.focus]]} · ` : "") +
    (re ? `search matched ${(100 * matched / Math.max(1, view.total)).toFixed(1)}% (${human(matched, DATA.heap && DATA.heap.isBytes)}) · ` : "") +
    `${rects.length} frames · click a frame to zoom`;
  info.setAttribute("data-matched", re ? matched : "");
}
function buildOptions(select, chosen) {
  DATA.flameBuilds.forEach((b, i) => select.append(h("option", {value: i}, b)));
  select.value = String(Math.max(0, DATA.flameBuilds.indexOf(chosen)));
}
function flameView() {
  const bytes = DATA.heap ? DATA.heap.isBytes : true;
  const sel = $("flame-build");
  buildOptions(sel, DATA.diffTarget || DATA.flameBuilds[DATA.flameBuilds.length - 1]);
  const state = {focus: null, search: ""};
  state.redraw = () => {
    const b = Number(sel.value), total = F.totals[b], objTotal = F.objectTotals ? F.objectTotals[b] : null;
    flame("flame-chart", "flame-info", {
      total, summary: `${DATA.flameBuilds[b]}: ${human(total, bytes)}` + (objTotal ? `, ${human(objTotal, false)} objects` : "") + " (mean of its snapshots) · ",
      width: (n) => F.values[n][b], fill: (n) => hue(F.names[F.nameOf[n]]), cls: () => "", prefix: () => "",
      tip: (n) => `${F.names[F.nameOf[n]]}\n${human(F.values[n][b], bytes)}` + (F.objects ? ` · ${human(F.objects[n][b], false)} objects` : "") +
        `\n${(100 * F.values[n][b] / Math.max(1, total)).toFixed(2)}% of ${DATA.flameBuilds[b]}'s total ${human(total, bytes)}` +
        (objTotal ? ` (${(100 * F.objects[n][b] / Math.max(1, objTotal)).toFixed(2)}% of objects)` : "")
    }, state);
  };
  sel.addEventListener("change", () => { state.focus = null; state.redraw(); });
  $("flame-search").addEventListener("input", (e) => { state.search = e.target.value.trim(); state.redraw(); });
  $("flame-reset").addEventListener("click", () => { state.focus = null; state.redraw(); });
  state.redraw();
  $("flame-note").textContent = `Each build's flame graph is the mean of its snapshots (${DATA.heap ? DATA.heap.metric : ""}). ` +
    `To keep the file small, frames narrower than ${(100 * F.minimumShare).toFixed(1)}% of the total in every build are left out ` +
    `(${F.nodesKept} of ${F.nodesBefore} call sites kept); their parents keep their full width.`;
}
function diffView() {
  const bytes = DATA.heap ? DATA.heap.isBytes : true;
  const bs = $("diff-base"), ts = $("diff-target"), norm = $("diff-normalise");
  buildOptions(bs, DATA.diffBase); buildOptions(ts, DATA.diffTarget);
  const state = {focus: null, search: ""};
  state.redraw = () => {
    const b = Number(bs.value), t = Number(ts.value);
    const k = norm.checked && F.totals[b] > 0 ? F.totals[t] / F.totals[b] : 1;
    const base = (n) => F.values[n][b] * k, target = (n) => F.values[n][t];
    // Layout width: the target's value; a frame gone in the target keeps its base width so the fix shows.
    const w = new Float64Array(F.parents.length);
    for (let n = F.parents.length - 1; n >= 0; n--) {
      if (target(n) > 0) { let s = 0; for (const c of children[n]) s += w[c]; w[n] = Math.max(target(n), s); }
      else w[n] = base(n);
    }
    let total = 0; F.parents.forEach((p, n) => { if (p < 0) total += w[n]; });
    const state2 = (n) => base(n) <= 0 && target(n) > 0 ? "new" : target(n) <= 0 && base(n) > 0 ? "removed" : target(n) > base(n) ? "grew" : target(n) < base(n) ? "shrank" : "same";
    const fill = (n) => {
      const d = target(n) - base(n), rel = d / Math.max(1, Math.max(base(n), target(n)));
      if (Math.abs(rel) < 0.02) return "rgb(222,222,222)";
      const a = Math.min(1, 0.25 + Math.abs(rel));
      return d > 0 ? `rgb(${Math.round(255 - 26 * a)},${Math.round(235 - 190 * a)},${Math.round(235 - 190 * a)})`
                   : `rgb(${Math.round(235 - 205 * a)},${Math.round(240 - 104 * a)},${Math.round(255 - 26 * a)})`;
    };
    flame("diff-chart", "diff-info", {
      total, width: (n) => w[n], fill, cls: (n) => { const s = state2(n); return s === "new" || s === "removed" ? s : ""; },
      prefix: (n) => state2(n) === "new" ? "+ " : state2(n) === "removed" ? "− " : "",
      tip: (n) => `${F.names[F.nameOf[n]]}\n${DATA.flameBuilds[b]}: ${human(base(n), bytes)}${k !== 1 ? " (normalised)" : ""} → ${DATA.flameBuilds[t]}: ${human(target(n), bytes)}` +
        `\nchange ${signed(target(n) - base(n), bytes)}` + (base(n) > 0 ? ` (${signed(100 * (target(n) - base(n)) / base(n), false)}%)` : " (new in target)")
    }, state);
    for (const r of $("diff-chart").querySelectorAll("rect.frame")) {
      const n = Number(r.getAttribute("data-node"));
      r.setAttribute("data-state", state2(n)); r.setAttribute("data-delta", target(n) - base(n));
    }
  };
  for (const e of [bs, ts, norm]) e.addEventListener("change", () => { state.focus = null; state.redraw(); });
  $("diff-search").addEventListener("input", (e) => { state.search = e.target.value.trim(); state.redraw(); });
  $("diff-reset").addEventListener("click", () => { state.focus = null; state.redraw(); });
  state.redraw();
}

// MARK: check
function checkView(c) {
  $("check").hidden = false;
  const body = $("check-body");
  const label = {pass: "PASS", fail: "FAIL: significant growth", undecided: "UNDECIDED"}[c.verdict] || c.verdict;
  body.append(h("div", {class: "verdict " + c.verdict, id: "check-verdict", "data-verdict": c.verdict}, `${label} · build ${c.build}`));
  if (c.reason) body.append(h("p", {}, c.reason));
  body.append(h("p", {class: "note"}, `compared with ${c.history.length} earlier build(s): ${c.history.join(", ")}`));
  const list = (title, items, cls) => {
    if (!items.length) return;
    body.append(h("h3", {}, title));
    body.append(h("ul", {class: cls}, items.map(f => h("li", {"data-id": f.id},
      `${f.leaf} (stack ${f.id}): ${human(f.previous, true)} → ${human(f.current, true)} (${signed(f.growth, true)}), p ${pfmt(f.pValue)}` + (f.accepted ? ` · accepted: ${f.accepted}` : "")))));
  };
  list("Stacks that fail", c.failures, "failures");
  list("Accepted growth", c.accepted, "accepted");
  list("Growth that began at an earlier build", c.earlier, "earlier");
}

// MARK: page
const timing = {};
function timed(name, f) { const t = performance.now(); f(); timing[name] = Math.round(performance.now() - t); }
function main() {
  const nav = $("nav");
  const sections = [];
  if (DATA.check) { checkView(DATA.check); sections.push(["check", "Check"]); }
  if (DATA.heap) {
    sections.push(["overview", "Overview"], ["growth", "Growth"]);
    timed("overview", () => overview(DATA.heap, "overview-chart", "overview-note"));
    timed("table", () => growthTable("growth-table", "growth-search", "growth-count", DATA.heap, () => DATA.heap.rows));
  } else if (DATA.tasks) { $("overview").hidden = true; $("growth").hidden = true; }
  else { $("growth").hidden = true; $("overview-note").textContent = "No snapshots to show: none stored yet, or none match the filters."; }
  const graphs = F && F.parents.length;
  if (graphs) {
    sections.push(["flame", "Flame graph"], ["diff", "Diff"]);
    $("flame-info").textContent = "drawing…"; $("diff-info").textContent = "drawing…";
  } else { $("flame").hidden = true; $("diff").hidden = true; }
  if (DATA.tasks) {
    const t = DATA.tasks; $("tasks").hidden = false; sections.push(["tasks", "Tasks"]);
    overview(t, "tasks-chart", "tasks-note");
    const sel = $("tasks-metric");
    const metrics = [t.metric].concat(Object.keys(t.extra));
    metrics.forEach(m => sel.append(h("option", {value: m}, m)));
    growthTable("tasks-table", "tasks-search", "tasks-count", t, () => sel.value === t.metric ? t.rows : t.extra[sel.value]);
    sel.addEventListener("change", () => $("tasks-search").dispatchEvent(new Event("input")));
  }
  for (const [id, name] of sections) nav.append(h("a", {href: "#" + id}, name));
  $("meta").textContent = `store ${DATA.store} · generated ${DATA.generated}`;
  // The flame graphs (thousands of frames) are drawn after the first screen has been painted.
  const finish = () => {
    if (graphs) { timed("flame", flameView); timed("diff", diffView); }
    ready();
  };
  requestAnimationFrame(() => setTimeout(finish, 0));
}
function ready() {
  document.body.setAttribute("data-timing", JSON.stringify(timing));
  document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-ready", "1");
}
main();
"""#
}
