// recembed explorer: plain JS, no build step, no external resources.
// Data: /api/meta, /api/suggest?q=, /api/explore/{id}?k=, /api/map?color=
"use strict";
const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94"];
const state = { map: null, current: null, colorOf: null, view: null };

async function getJSON(url) {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail ? String(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : r.statusText);
  return body;
}

function infoText(info) {
  return Object.entries(info || {}).filter(([k]) => k !== "xy").map(([k, v]) => `${k}: ${v}`).join(", ");
}

function setStatus(msg, isError) {
  const s = $("status");
  s.textContent = msg;
  s.className = isError ? "error" : "";
}

// ---- search ----------------------------------------------------------------
async function search(id) {
  id = (id || "").trim();
  if (!id) return;
  const k = $("k").value;
  $("search").value = id;
  setStatus(`searching ${id}…`);
  const url = new URL(window.location);
  url.searchParams.set("q", id);
  url.searchParams.set("k", k);
  history.replaceState(null, "", url);
  let ans;
  try {
    ans = await getJSON(`/api/explore/${encodeURIComponent(id)}?k=${k}`);
  } catch (e) {
    state.current = null;
    $("neighbours").innerHTML = "";
    $("selected").textContent = "";
    setStatus(e.message, true);
    document.body.dataset.searched = id;
    drawMap();
    return;
  }
  state.current = ans;
  const sel = $("selected");
  sel.dataset.item = ans.item;
  sel.innerHTML = "";
  sel.append(document.createTextNode(ans.item + " "));
  const si = document.createElement("span");
  si.className = "info";
  si.textContent = infoText(ans.info);
  sel.append(si);
  const ol = $("neighbours");
  ol.innerHTML = "";
  for (const n of ans.neighbours) {
    const li = document.createElement("li");
    li.className = "neighbour";
    li.dataset.item = n.item;
    li.dataset.score = n.score;
    const name = document.createElement("span");
    name.className = "item";
    name.textContent = n.item;
    const sc = document.createElement("span");
    sc.className = "score";
    sc.textContent = n.score.toFixed(4);
    const inf = document.createElement("span");
    inf.className = "info";
    const { item, score, xy, ...rest } = n;
    inf.textContent = infoText(rest);
    li.append(name, sc, inf);
    li.addEventListener("click", () => search(n.item));
    ol.append(li);
  }
  setStatus(`${ans.neighbours.length} neighbours of ${ans.item} (version ${ans.version})`);
  document.body.dataset.searched = id;
  drawMap();
}

let suggestTimer = null;
function suggest() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const q = $("search").value.trim();
    if (!q) return;
    try {
      const ans = await getJSON(`/api/suggest?q=${encodeURIComponent(q)}&limit=10`);
      const dl = $("suggestions");
      dl.innerHTML = "";
      for (const s of ans.items) {
        const o = document.createElement("option");
        o.value = s.item;
        o.label = infoText(Object.fromEntries(Object.entries(s).filter(([k]) => k !== "item")));
        dl.append(o);
      }
    } catch (e) { /* suggestions are best effort */ }
  }, 150);
}

// ---- map ---------------------------------------------------------------------
function colourScale(points, numeric) {
  if (!points.length || points.every((p) => p.c === null || p.c === undefined)) return { fn: () => "#888", legend: [] };
  if (numeric) {
    const vals = points.map((p) => p.c).filter((v) => v !== null);
    const lo = Math.min(...vals), hi = Math.max(...vals);
    const fn = (v) => {
      if (v === null || v === undefined) return "#ccc";
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      return `hsl(${Math.round(240 - 240 * t)}, 70%, 45%)`;
    };
    return { fn, legend: [[`${lo.toPrecision(3)}`, fn(lo)], [`${hi.toPrecision(3)}`, fn(hi)]] };
  }
  const counts = new Map();
  for (const p of points) counts.set(String(p.c), (counts.get(String(p.c)) || 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length - 1).map(([v]) => v);
  const idx = new Map(top.map((v, i) => [v, i]));
  const fn = (v) => (idx.has(String(v)) ? PALETTE[idx.get(String(v))] : "#ccc");
  return { fn, legend: top.map((v) => [v, fn(v)]).concat(counts.size > top.length ? [["other", "#ccc"]] : []) };
}

function drawMap() {
  const cv = $("map");
  const ctx = cv.getContext("2d");
  ctx.clearRect(0, 0, cv.width, cv.height);
  if (!state.map) return;
  const pts = state.map.points;
  const extra = state.current ? [state.current.xy, ...state.current.neighbours.map((n) => n.xy)] : [];
  const xs = pts.map((p) => p.x).concat(extra.map((p) => p[0]));
  const ys = pts.map((p) => p.y).concat(extra.map((p) => p[1]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const pad = 12;
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (cv.width - 2 * pad);
  const sy = (y) => cv.height - pad - ((y - y0) / (y1 - y0 || 1)) * (cv.height - 2 * pad);
  state.view = { sx, sy };
  const scale = colourScale(pts, state.map.numeric);
  ctx.globalAlpha = 0.6;
  for (const p of pts) {
    ctx.fillStyle = scale.fn(p.c);
    ctx.fillRect(sx(p.x) - 1.5, sy(p.y) - 1.5, 3, 3);
  }
  ctx.globalAlpha = 1;
  if (state.current) {
    ctx.fillStyle = "#d00";
    for (const n of state.current.neighbours) {
      ctx.beginPath();
      ctx.arc(sx(n.xy[0]), sy(n.xy[1]), 4, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(sx(state.current.xy[0]), sy(state.current.xy[1]), 7, 0, 2 * Math.PI);
    ctx.stroke();
  }
  cv.dataset.points = String(pts.length);
  cv.dataset.highlighted = String(state.current ? state.current.neighbours.length : 0);
  const lg = $("legend");
  lg.innerHTML = "";
  for (const [label, col] of scale.legend) {
    const s = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = col;
    s.append(i, document.createTextNode(label));
    lg.append(s);
  }
}

async function loadMap() {
  const color = $("color").value;
  $("map-status").textContent = "loading map…";
  try {
    state.map = await getJSON(`/api/map${color ? `?color=${encodeURIComponent(color)}` : ""}`);
    $("map-status").textContent = `${state.map.points.length} of ${state.map.total} items`;
  } catch (e) {
    $("map-status").textContent = e.message;
  }
  drawMap();
}

function nearestPoint(ev) {
  if (!state.map || !state.view) return null;
  const cv = $("map");
  const r = cv.getBoundingClientRect();
  const x = ((ev.clientX - r.left) * cv.width) / r.width, y = ((ev.clientY - r.top) * cv.height) / r.height;
  let best = null, bd = 64;
  for (const p of state.map.points) {
    const d = (state.view.sx(p.x) - x) ** 2 + (state.view.sy(p.y) - y) ** 2;
    if (d < bd) { bd = d; best = p; }
  }
  return best;
}

// ---- start -------------------------------------------------------------------
async function main() {
  const params = new URLSearchParams(window.location.search);
  const meta = await getJSON("/api/meta");
  $("version").textContent = `version ${meta.version} · ${meta.items} items · ${meta.index} index`;
  const sel = $("color");
  for (const c of meta.columns) {
    const o = document.createElement("option");
    o.value = c;
    o.textContent = c;
    sel.append(o);
  }
  if (params.get("color") && meta.columns.includes(params.get("color"))) sel.value = params.get("color");
  else if (meta.columns.length) sel.value = meta.columns[0];
  if (params.get("k")) $("k").value = params.get("k");
  $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search($("search").value); });
  $("search").addEventListener("input", suggest);
  $("k").addEventListener("change", () => state.current && search(state.current.item));
  sel.addEventListener("change", loadMap);
  $("map").addEventListener("click", (ev) => { const p = nearestPoint(ev); if (p) search(p.item); });
  const mapDone = loadMap();
  if (params.get("q")) await search(params.get("q"));
  await mapDone;
  document.body.dataset.ready = "1";
}

main().catch((e) => setStatus(e.message, true));
