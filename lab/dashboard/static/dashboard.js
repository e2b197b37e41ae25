// The lab dashboard's page: the graph (cytoscape.js), the catchment table, timeline strips,
// fault buttons. State arrives as server-sent events (/api/events); every change of a node's
// site is logged in dash.changes with the probe's and the page's time on CLOCK_MONOTONIC
// (dash.offset maps performance.now() onto it), which is how the update latency is measured.
"use strict";

const dash = {
  info: null, colours: {}, lost: "#d62728", none: "#9e9e9e", cy: null,
  nodes: {},        // node -> {v4, v6, res}: state (a site, "answered", "lost")
  kinds: {},        // node -> model kind
  rows: {},         // "node/kind" -> {runs: Map(t0 -> [t0, t1, site]), lost: []}
  faults: [], catalog: [], routing: null, selected: null,
  offset: 0,        // CLOCK_MONOTONIC - performance.now()/1000
  changes: [],      // {node, kind, state, seen, shown}: one per recolouring
  mono: 0, window: 60,
  load: {},         // site -> {capacity, rates: [{t, offered, answered, dropped, attack}], error}
  loadWindow: 180,
};
window.dash = dash;

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};

async function api(path, opts = {}) {
  const init = { ...opts, headers: { "Content-Type": "application/json", "X-Lab-Dashboard": "1" } };
  const res = await fetch(path, init);
  const data = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(data.error || `${res.status}`);
  return data;
}

function pageMono() { return performance.now() / 1000 + dash.offset; }

async function calibrate() {
  // the server's monotonic clock against ours; loopback: the round trip is a few ms at most
  let best = null;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now(); const r = await api("/api/clock"); const t1 = performance.now();
    if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: r.mono - (t0 + t1) / 2000 };
  }
  dash.offset = best.offset;
}

function colourOf(state) {
  if (!state) return dash.none;
  if (state === "lost") return dash.lost;
  if (state === "answered") return "#cfd8dc";
  return dash.colours[state] || dash.none;
}

// -- the graph ---------------------------------------------------------------------------------
function graphStyle() {
  return [
    { selector: "node", style: { label: "data(label)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 3 } },
    { selector: 'node[kind="as"]', style: { "background-color": "#f3f4f6", "border-color": "#cfd2d6", "border-width": 1,
        label: "data(label)", "text-valign": "top", "text-halign": "left", "text-margin-x": 60, "font-size": 10,
        color: "#777", shape: "round-rectangle", padding: 14 } },
    { selector: 'node[kind="site"]', style: { "background-color": "data(colour)", width: 38, height: 38,
        "border-width": 2, "border-color": "#222", "text-valign": "center", "font-weight": "bold",
        "text-outline-color": "white", "text-outline-width": 2 } },
    { selector: 'node[kind="site"].withdrawn', style: { "background-opacity": 0.25, "border-style": "dashed" } },
    { selector: 'node[kind="router"]', style: { shape: "round-rectangle", width: 46, height: 30,
        "background-color": "#eceff1", "border-width": 1.5, "border-color": "#37474f", "text-valign": "center" } },
    { selector: 'node[kind="router"][role="rogue"]', style: { "border-color": "#b71c1c", "border-width": 3 } },
    { selector: 'node[kind="client"], node[kind="resolver"]', style: { width: 26, height: 26,
        "background-color": "#fff", "border-width": 1, "border-color": "#333", "pie-size": "100%",
        "pie-1-background-color": "data(c4)", "pie-1-background-size": 50,
        "pie-2-background-color": "data(c6)", "pie-2-background-size": 50 } },
    { selector: 'node[kind="resolver"]', style: { shape: "round-rectangle" } },
    { selector: 'node[kind="primary"]', style: { shape: "diamond", width: 18, height: 18, "background-color": "#bbb" } },
    { selector: "node.dead", style: { "border-color": "#c62828", "border-width": 4, "border-style": "double" } },
    { selector: "node:selected", style: { "overlay-color": "#1565c0", "overlay-opacity": 0.18 } },
    { selector: "edge", style: { width: 2, "line-color": "#555", "curve-style": "bezier", label: "data(label)", "font-size": 9 } },
    { selector: 'edge[kind="p2p"]', style: { "line-style": "dashed", "line-color": "#1f5fa8",
        "curve-style": "unbundled-bezier", "control-point-distances": -40, "control-point-weights": 0.5 } },
    { selector: 'edge[kind="lan"]', style: { width: 1, "line-color": "#aaa" } },
    { selector: 'edge[kind="internal"]', style: { width: 4, "line-color": "#7b3fa0" } },
    { selector: 'edge[kind="ibgp"]', style: { "line-style": "dotted", "line-color": "#7b3fa0" } },
    { selector: "edge.up", style: { "line-color": "#2e7d32" } },
    { selector: "edge.partial", style: { "line-color": "#ef6c00" } },
    { selector: "edge.down", style: { "line-color": "#c62828", "line-style": "dotted" } },
    { selector: "edge.linkdown", style: { "line-color": "#c62828", width: 3, "line-style": "dotted", label: "link down" } },
    { selector: "edge:selected", style: { "overlay-color": "#1565c0", "overlay-opacity": 0.25 } },
  ];
}

function buildGraph(topo) {
  dash.colours = topo.colours; dash.lost = topo.lost; dash.none = topo.none;
  for (const n of topo.nodes) {
    const d = n.data; dash.kinds[d.id] = d.kind;
    if (d.kind === "site") d.colour = dash.colours[d.id] || dash.none;
    if (d.kind === "client" || d.kind === "resolver") { d.c4 = dash.none; d.c6 = dash.none; }
  }
  if (typeof cytoscape === "undefined") {
    $("#cy").textContent = dash.info.vendor_missing || "cytoscape.js did not load";
  } else {
    dash.cy = cytoscape({ container: $("#cy"), elements: { nodes: topo.nodes, edges: topo.edges },
      layout: { name: "preset", fit: true, padding: 30 }, style: graphStyle(), wheelSensitivity: 0.3,
      boxSelectionEnabled: false, autoungrabify: true });
    dash.cy.on("tap", "node", (e) => { if (e.target.data("kind") !== "as") select(e.target.id()); });
    dash.cy.on("tap", "edge", (e) => selectEdge(e.target.id()));
  }
  const legend = $("#legend");
  for (const [site, c] of Object.entries(dash.colours)) {
    legend.append(el("span", {}, el("i", { class: "swatch", style: `background:${c}` }), site));
  }
  legend.append(el("span", {}, el("i", { class: "swatch", style: `background:${dash.lost}` }), "lost"));
  legend.append(el("span", { class: "muted", text: "clients/resolvers: left v6, right v4" }));
  const list = $("#nodes");
  for (const n of topo.nodes) {
    if (n.data.kind === "as") continue;
    list.append(el("button", { type: "button", "data-node": n.data.id, "data-kind": n.data.kind,
      text: n.data.id, onclick: () => select(n.data.id) }));
  }
  const tbody = $("#catchment tbody");
  for (const n of topo.nodes) {
    const d = n.data;
    if (d.kind !== "client" && d.kind !== "resolver") continue;
    dash.nodes[d.id] = { v4: null, v6: null, res: null };
    tbody.append(el("tr", { "data-node": d.id }, el("td", { text: d.id }),
      ...["v4", "v6", "res"].map((k) => el("td", { class: `site ${k}`, "data-kind": k, "data-site": "" }))));
  }
}

// -- what every node reaches -------------------------------------------------------------------
function show(node, kind, state, seen) {
  const cur = dash.nodes[node]; if (!cur) return;
  if (cur[kind] === state) return;
  cur[kind] = state;
  const cell = document.querySelector(`#catchment tr[data-node="${node}"] td.${kind}`);
  if (cell) {
    cell.dataset.site = state || ""; cell.textContent = kind === "res" && state === "answered" ? "answered" : (state || "");
    cell.style.background = colourOf(state);
  }
  if (dash.cy && kind !== "res") {
    // pie slice 1 starts at 12 o'clock and runs clockwise: the right half is v4
    dash.cy.getElementById(node).data(kind === "v4" ? "c4" : "c6", colourOf(state));
  }
  if (seen !== undefined) {
    requestAnimationFrame(() => {
      dash.changes.push({ node, kind, state, seen, shown: pageMono() });
      const ds = dash.changes.slice(-50).map((c) => c.shown - c.seen).sort((a, b) => a - b);
      $("#latency").textContent = `update latency median ${(ds[ds.length >> 1] * 1000).toFixed(0)} ms`;
    });
  }
}

function onProbe(ev) { show(ev.node, ev.kind, ev.state, ev.seen); }

function loadLive(live) {
  for (const [node, kinds] of Object.entries(live.nodes)) {
    for (const [kind, state] of Object.entries(kinds)) show(node, kind, state);
  }
}

// -- routing: sessions on edges, withdrawn sites, dead daemons ---------------------------------
function onRouting(r) {
  dash.routing = r;
  if (!dash.cy) return;
  const states = {};
  for (const s of r.sessions) {
    const key = [s.node, s.peer].sort().join("|");
    (states[key] = states[key] || []).push(s.state === "Established");
  }
  dash.cy.edges().forEach((e) => {
    const kind = e.data("kind");
    e.removeClass("up partial down linkdown");
    if (kind === "lan") return;
    const link = e.data("link");
    if (link && r.links && r.links[link] && r.links[link] !== "UP") { e.addClass("linkdown"); return; }
    const st = states[[e.data("source"), e.data("target")].sort().join("|")];
    if (!st || !st.length) { if (kind !== "internal") e.addClass("down"); return; }
    e.addClass(st.every(Boolean) ? "up" : st.some(Boolean) ? "partial" : "down");
  });
  dash.cy.nodes().forEach((n) => {
    const id = n.id(); const procs = (r.processes || {})[id] || {};
    n.toggleClass("dead", Object.values(procs).some((alive) => !alive) || Boolean((r.unreachable || {})[id]));
    if (n.data("kind") === "site") n.toggleClass("withdrawn", !(r.heard || {})[id]);
  });
  if (dash.selected && ["router", "site"].includes(dash.kinds[dash.selected])) loadRoutes(dash.selected);
}

// -- selection: best paths and fault buttons ---------------------------------------------------
function faultButton(kind, args, label) {
  const has = dash.catalog.some((k) => k.name === kind);
  if (!has) return null;
  const target = Object.values(args).join(" ");
  return el("button", { type: "button", class: "fault", "data-fault": kind, "data-target": target,
    text: label || kind, onclick: () => applyFault(kind, args) });
}

function select(id) {
  dash.selected = id;
  document.querySelectorAll("#nodes button").forEach((b) => b.classList.toggle("sel", b.dataset.node === id));
  if (dash.cy) { dash.cy.elements().unselect(); dash.cy.getElementById(id).select(); }
  const kind = dash.kinds[id];
  const node = dash.cy ? dash.cy.getElementById(id).data() : { kind };
  $("#sel-title").textContent = `${id} (${kind}${node.daemon ? ", " + node.daemon : ""}${node.asn ? ", AS" + node.asn : ""})`;
  const acts = $("#sel-actions"); acts.replaceChildren();
  const add = (...bs) => bs.filter(Boolean).forEach((b) => acts.append(b));
  if (kind === "site") {
    add(faultButton("withdraw", { site: id }), faultButton("drain", { site: id }, "drain (GRACEFUL_SHUTDOWN)"),
      faultButton("drain", { site: id, method: "prepend" }, "drain (prepend)"),
      faultButton("prepend", { node: id, count: 3 }, "prepend ×3"), faultButton("dns-stop", { site: id }),
      faultButton("kill-node", { node: id }, "kill"));
  } else if (kind === "router") {
    add(faultButton("kill-bgp", { node: id }), faultButton("kill-node", { node: id }, "kill (power cut)"),
      faultButton("prepend", { node: id, count: 3 }, "prepend ×3"));
    if (node.role === "rogue") add(faultButton("hijack", { rogue: id }));
    if (node.daemon === "bird") add(faultButton("rov", { node: id }, "ROV on"));
  }
  const s = dash.nodes[id];
  $("#sel-info").textContent = s ? `reaches v4 ${s.v4 || "?"}, v6 ${s.v6 || "?"}` : "";
  if (kind === "router" || kind === "site") loadRoutes(id); else $("#routes").hidden = true;
}

function selectEdge(id) {
  dash.selected = null;
  const e = dash.cy.getElementById(id).data();
  $("#sel-title").textContent = `link ${e.source} – ${e.target} (${e.kind})`;
  $("#routes").hidden = true;
  const acts = $("#sel-actions"); acts.replaceChildren();
  if (e.kind === "lan") { $("#sel-info").textContent = "a LAN: its hosts and their router"; return; }
  $("#sel-info").textContent = `${e.link}`;
  [faultButton("link-down", { a: e.source, b: e.target }), faultButton("loss", { a: e.source, b: e.target, pct: 30 }, "30 % loss")]
    .filter(Boolean).forEach((b) => acts.append(b));
}

async function loadRoutes(id) {
  try {
    const r = await api(`/api/best?node=${encodeURIComponent(id)}`);
    if (dash.selected !== id) return;
    const tb = $("#routes tbody"); tb.replaceChildren();
    for (const rt of r.routes) {
      tb.append(el("tr", { class: rt.best ? "best" : "" }, el("td", { text: rt.best ? "★" : "" }),
        el("td", { text: rt.prefix }), el("td", { text: rt.from }), el("td", { text: rt.as_path.join(" ") || "(local)" }),
        el("td", { text: rt.local_pref ?? "" }), el("td", { text: rt.communities.join(" ") })));
    }
    if (!r.routes.length) tb.append(el("tr", {}, el("td", { colspan: 6, text: r.error || "no route" })));
    $("#routes").hidden = false;
  } catch (err) { $("#sel-info").textContent = String(err); }
}

// -- faults ------------------------------------------------------------------------------------
async function applyFault(kind, args) {
  $("#fault-error").hidden = true;
  try { const a = await api("/api/faults", { method: "POST", body: JSON.stringify({ kind, args }) }); renderFaults(null, a); }
  catch (err) { $("#fault-error").textContent = String(err); $("#fault-error").hidden = false; }
}

async function undoFault(id) {
  try { await api(`/api/faults/${id}/undo`, { method: "POST", body: "{}" }); }
  catch (err) { $("#fault-error").textContent = String(err); $("#fault-error").hidden = false; }
}

function renderFaults(list, one) {
  if (list) dash.faults = list;
  if (one && !dash.faults.some((f) => f.id === one.id)) dash.faults.push(one);
  const ul = $("#fault-list"); ul.replaceChildren();
  if (!dash.faults.length) ul.append(el("li", { class: "muted", text: "none" }));
  for (const f of dash.faults) {
    const li = el("li", { class: f.undone ? "undone" : "", "data-fault-id": f.id }, `#${f.id} ${f.name} `);
    if (f.undoable && !f.undone) li.append(el("button", { type: "button", class: "undo", "data-undo": f.id, text: "undo", onclick: () => undoFault(f.id) }));
    if (f.undo_error) li.append(el("span", { class: "error", text: f.undo_error }));
    ul.append(li);
  }
}

function buildFaultForm() {
  const sel = $("#fault-kind");
  for (const k of dash.catalog) sel.append(el("option", { value: k.name, text: `${k.name}: ${k.help}` }));
  const fill = () => {
    const k = dash.catalog.find((x) => x.name === sel.value); const box = $("#fault-params"); box.replaceChildren();
    for (const p of k.params) {
      const input = p.choices.length ? el("select", { name: p.name }, ...p.choices.map((c) => el("option", { value: c, text: c })))
        : el("input", { name: p.name, placeholder: p.help, value: p.default ?? "" });
      box.append(el("label", {}, `${p.name}${p.required ? "" : " (optional)"} `, input));
    }
  };
  sel.addEventListener("change", fill); fill();
  $("#fault-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const k = dash.catalog.find((x) => x.name === sel.value); const args = {};
    for (const p of k.params) {
      const v = e.target.elements[p.name].value.trim(); if (v === "") continue;
      args[p.name] = p.type === "int" ? parseInt(v, 10) : p.type === "float" ? parseFloat(v) : p.type === "list" ? v.split(/[ ,]+/) : v;
    }
    applyFault(k.name, args);
  });
}

// -- timelines ---------------------------------------------------------------------------------
function rowOf(key) {
  if (!dash.rows[key]) {
    dash.rows[key] = { runs: new Map(), lost: [] };
    const [node, kind] = key.split("/");
    const canvas = el("canvas", { "data-row": key, width: 800, height: 12 });
    const rows = $("#tl-rows");
    const div = el("div", { class: "tl-row" }, el("span", { text: `${node} ${kind}` }), canvas);
    const after = [...rows.children].find((c) => c.firstChild.textContent > `${node} ${kind}`);
    rows.insertBefore(div, after || null);
  }
  return dash.rows[key];
}

function onTimeline(t) {
  for (const { row, run } of t.runs) rowOf(row).runs.set(run[0], run);
  for (const [row, marks] of Object.entries(t.lost)) rowOf(row).lost.push(...marks);
  if (t.mono) dash.mono = Math.max(dash.mono, t.mono);
  scheduleDraw();
}

let drawPending = false;
function scheduleDraw() { if (!drawPending) { drawPending = true; requestAnimationFrame(draw); } }

function draw() {
  drawPending = false;
  const now = Math.max(dash.mono, pageMono()); const t0 = now - dash.window;
  for (const [key, row] of Object.entries(dash.rows)) {
    const c = document.querySelector(`canvas[data-row="${key}"]`); if (!c) continue;
    const w = c.clientWidth || 800; if (c.width !== w) c.width = w;
    const g = c.getContext("2d"); g.clearRect(0, 0, c.width, c.height);
    const x = (t) => ((t - t0) / dash.window) * c.width;
    for (const [k, [a, b, site]] of row.runs) {
      if (b < t0) { row.runs.delete(k); continue; }
      g.fillStyle = colourOf(site); g.fillRect(x(a), 2, Math.max(2, x(b) - x(a)), c.height - 4);
    }
    row.lost = row.lost.filter((t) => t >= t0);
    g.fillStyle = dash.lost;
    for (const t of row.lost) g.fillRect(x(t) - 1, 0, 2, c.height);
    g.fillStyle = "#000";
    for (const f of dash.faults) for (const m of [f.mono, f.undo_mono]) if (m && m >= t0) g.fillRect(x(m), 0, 1, c.height);
  }
}

// -- per-site load: one small SVG chart per site (offered, answered, dropped q/s) -------------------
const SVG = "http://www.w3.org/2000/svg";
const LOAD_W = 300, LOAD_H = 44;

function loadRow(site) {
  let box = document.querySelector(`.load-site[data-site="${site}"]`);
  if (!box) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${LOAD_W} ${LOAD_H}`); svg.setAttribute("preserveAspectRatio", "none");
    svg.dataset.loadSite = site;
    for (const k of ["cap", "offered", "answered", "dropped"]) {
      const line = document.createElementNS(SVG, "polyline"); line.setAttribute("class", k); svg.append(line);
    }
    box = el("div", { class: "load-site", "data-site": site }, el("span", { class: "name", text: site }), svg,
      el("span", { class: "now" }));
    box.querySelector(".name").style.color = dash.colours[site] || "#222";
    $("#load-sites").append(box);
  }
  return box;
}

function onLoad(view, whole) {
  dash.loadWindow = view.window; $("#load-window").textContent = view.window;
  for (const s of view.sites) {
    const cur = dash.load[s.site] || { rates: [] };
    cur.capacity = s.capacity_qps; cur.error = s.error;
    cur.rates = whole ? s.rates : cur.rates.concat(s.rates.filter((r) => !cur.rates.length || r.t > cur.rates[cur.rates.length - 1].t));
    dash.load[s.site] = cur;
  }
  drawLoad(view.mono);
}

function drawLoad(mono) {
  const t0 = mono - dash.loadWindow;
  for (const [site, s] of Object.entries(dash.load)) {
    s.rates = s.rates.filter((r) => r.t >= t0);
    const box = loadRow(site); const svg = box.querySelector("svg");
    const top = Math.max(10, s.capacity || 0, ...s.rates.map((r) => r.offered)) * 1.1;
    const x = (t) => (((t - t0) / dash.loadWindow) * LOAD_W).toFixed(1);
    const y = (v) => (LOAD_H - (v / top) * LOAD_H).toFixed(1);
    for (const k of ["offered", "answered", "dropped"]) {
      const pts = s.rates.filter((r) => r[k] !== null).map((r) => `${x(r.t)},${y(r[k])}`);
      svg.querySelector(`.${k}`).setAttribute("points", pts.join(" "));
    }
    svg.querySelector(".cap").setAttribute("points", s.capacity ? `0,${y(s.capacity)} ${LOAD_W},${y(s.capacity)}` : "");
    const last = s.rates[s.rates.length - 1];
    svg.dataset.points = String(s.rates.length);
    svg.dataset.offered = last ? String(last.offered) : "";
    svg.dataset.maxOffered = String(Math.max(0, ...s.rates.map((r) => r.offered)));
    svg.dataset.maxDropped = String(Math.max(0, ...s.rates.map((r) => r.dropped)));
    box.querySelector(".now").textContent = s.error ? "no reading" : last
      ? `${last.offered.toFixed(0)}${last.answered === null ? "" : "/" + last.answered.toFixed(0)}${last.dropped ? " −" + last.dropped.toFixed(0) : ""} q/s` : "…";
    box.title = s.error || `offered / answered (− dropped) q/s; capacity ${s.capacity ? s.capacity + " q/s" : "none"}`;
  }
}

// -- exercise ------------------------------------------------------------------------------------
async function loadExercise() {
  try {
    const ex = await api("/api/exercise");
    if (!ex.active) { $("#exercise").hidden = true; return; }
    $("#exercise").hidden = false; $("#ex-number").textContent = ex.active.number;
    $("#ex-title").textContent = ex.active.title; $("#ex-goal").textContent = ex.active.goal;
  } catch (err) { /* no exercise: nothing to show */ }
}

function showCheck(res) {
  const ul = $("#ex-result"); ul.replaceChildren();
  for (const item of res.items || []) ul.append(el("li", { class: item.ok ? "ok" : "bad", text: `${item.ok ? "✓" : "✗"} ${item.text}` }));
  if (res.met !== undefined) ul.append(el("li", { class: res.met ? "ok" : "bad", text: res.met ? "goal met" : "not yet" }));
}

// -- the event stream ----------------------------------------------------------------------------
function connect() {
  const es = new EventSource("/api/events");
  const conn = $("#conn");
  es.addEventListener("hello", () => { conn.textContent = "live"; conn.className = "conn ok"; });
  es.addEventListener("probe", (e) => onProbe(JSON.parse(e.data)));
  es.addEventListener("timeline", (e) => onTimeline(JSON.parse(e.data)));
  es.addEventListener("routing", (e) => onRouting(JSON.parse(e.data)));
  es.addEventListener("load", (e) => onLoad(JSON.parse(e.data), false));
  es.addEventListener("faults", (e) => { renderFaults(JSON.parse(e.data)); scheduleDraw(); });
  es.addEventListener("tick", (e) => { dash.mono = JSON.parse(e.data).mono; scheduleDraw(); });
  es.addEventListener("exercise", (e) => showCheck(JSON.parse(e.data)));
  es.addEventListener("resync", () => refresh());
  es.addEventListener("error", (e) => {
    if (e.data) { const p = $("#problem"); p.textContent = JSON.parse(e.data).message; p.hidden = false; }
    else { conn.textContent = "disconnected"; conn.className = "conn bad"; }
  });
  es.addEventListener("gone", () => { conn.textContent = "lab gone"; conn.className = "conn bad"; es.close(); });
  es.addEventListener("bye", () => { conn.textContent = "dashboard stopped"; conn.className = "conn bad"; es.close(); });
}

async function refresh() {
  loadLive(await api("/api/live"));
  const tl = await api("/api/timeline");
  for (const row of tl.rows) {
    const r = rowOf(`${row.node}/${row.kind}`);
    for (const run of row.runs) r.runs.set(run[0], run);
    r.lost = row.lost;
  }
  renderFaults(tl.faults);
  onRouting(await api("/api/routing"));
  onLoad(await api("/api/load"), true);
}

async function main() {
  dash.info = await api("/api/info");
  $("#lab-name").textContent = dash.info.lab;
  $("#runtime").textContent = `${dash.info.runtime} · probes every ${dash.info.probe_interval * 1000} ms`;
  document.title = `${dash.info.lab}: anycast-lab dashboard`;
  if (!dash.info.loopback) {
    const b = $("#exposed"); b.hidden = false;
    b.textContent = `This dashboard listens on ${dash.info.bind}:${dash.info.port}, not only on localhost: anyone who reaches it can inject faults.`;
  }
  await calibrate();
  const [topo, faults, labs] = await Promise.all([api("/api/topology"), api("/api/faults"), api("/api/labs")]);
  dash.catalog = faults.catalog;
  buildGraph(topo); buildFaultForm();
  const others = labs.running.filter((n) => n !== dash.info.lab);
  if (others.length) $("#other-labs").textContent = `other labs here: ${others.join(", ")} (one dashboard each: lab dashboard --name N --port P)`;
  connect();
  await refresh();
  loadExercise();
  $("#ex-check").addEventListener("click", async () => {
    try { showCheck(await api("/api/exercise/check", { method: "POST", body: "{}" })); }
    catch (err) { $("#ex-result").replaceChildren(el("li", { class: "bad", text: String(err) })); }
  });
  setInterval(calibrate, 30000);
  setInterval(scheduleDraw, 250);
  document.body.dataset.ready = "1";
}

main().catch((err) => { const p = $("#problem"); p.textContent = `the page could not start: ${err}`; p.hidden = false; });
