// WardWatch ward board: renders /api/board, re-fetches on every server-sent "changed" event,
// opens a patient's trend and alert timeline, and sends acknowledgements. Text from the data is
// only ever set as textContent (never parsed as HTML).
"use strict";

const LABELS = { heart_rate: ["HR", "/min"], respiratory_rate: ["RR", "/min"], spo2: ["SpO₂", "%"],
  systolic_bp: ["SBP", "mmHg"], diastolic_bp: ["DBP", "mmHg"], temperature_c: ["T", "°C"],
  consciousness: ["ACVPU", ""], on_oxygen: ["O₂", ""] };
const TREND = [["news2", "NEWS2", null], ["heart_rate", "Heart rate /min", [40, 131]], ["respiratory_rate", "Resp. rate /min", [8, 25]],
  ["spo2", "SpO₂ %", [91, null]], ["systolic_bp", "Systolic BP mmHg", [90, 220]], ["temperature_c", "Temperature °C", [35, 39.1]]];
const PARAM = { respiratory_rate: "RR", spo2: "SpO₂", on_oxygen: "air/O₂", systolic_bp: "SBP", heart_rate: "HR",
  consciousness: "ACVPU", temperature_c: "T" };
let latest = null, openPatient = null, inFlight = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function ago(s) {
  if (s === null || s === undefined) return "never";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function fmt(name, v) {
  if (v === null || v === undefined) return "–";
  if (name === "on_oxygen") return v ? "on O₂" : "air";
  if (typeof v === "number") return name === "temperature_c" ? v.toFixed(1) : String(Math.round(v));
  return String(v);
}

function toast(text, error) {
  const t = document.getElementById("toast");
  t.textContent = text; t.className = error ? "error" : ""; t.hidden = false;
  clearTimeout(t.timer); t.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

async function acknowledge(alert, button) {
  const by = document.getElementById("by").value.trim();
  if (!by) { toast("Say who is acknowledging: type your staff id or role at the top", true); document.getElementById("by").focus(); return; }
  localStorage.setItem("wardwatch.by", by);
  button.disabled = true; button.textContent = "sending…";
  try {
    const r = await fetch("/api/ack", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ alert_id: alert.last_alert_id, by }) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    button.textContent = "sent to the job";
    toast("Acknowledgement sent; the board shows it once the job has recorded it");
  } catch (e) {
    button.disabled = false; button.textContent = "Acknowledge";
    toast(`Not sent: ${e.message}`, true);
  }
}

// The page text names hospital, unit and bed; on the bed's own tile only what follows is news.
function what(message) { const i = message.indexOf(": "); return i >= 0 ? message.slice(i + 2) : message; }

function alertRow(a) {
  const tier = a.state === "escalated" && a.tier ? ` to ${String(a.tier).replace(/_/g, " ")}` : "";
  const row = el("div", { class: `alert ${a.severity}`, "data-episode": a.episode_id, "data-state": a.state },
    el("span", {}, el("span", { class: `state ${a.state}` }, a.state + tier), " ", what(a.message || a.rule)));
  if (a.state !== "acknowledged") {
    const b = el("button", { class: "ack", type: "button", onclick: (ev) => { ev.stopPropagation(); acknowledge(a, b); } }, "Acknowledge");
    row.append(b);
    return row;
  }
  return el("div", {}, row, a.acknowledged ? el("div", { class: "note" }, what(a.acknowledged)) : null);
}

function bedTile(bed, staleAfter) {
  const n = bed.news2, band = n.band || "none";
  const score = n.total !== null && n.total !== undefined
    ? el("span", { class: `news2 band-${band}` }, n.total, el("small", {}, ` NEWS2 ${band}`))
    : n.partial !== null && n.partial !== undefined
      ? el("span", { class: "news2" }, `≥${n.partial}`, el("small", {}, " NEWS2 partial"))
      : el("span", { class: "news2" }, "–", el("small", {}, " no NEWS2"));
  const vitals = el("div", { class: "vitals" }, Object.entries(LABELS).map(([k, [label, unit]]) => {
    const v = bed.vitals[k];
    const cls = v.value === null ? "none" : v.stale ? "stale" : "";
    return el("span", { class: cls, title: v.age_s === null ? "no value" : `${ago(v.age_s)} ago${v.stale ? " (stale)" : ""}` },
      `${label} ${fmt(k, v.value)}${v.value !== null && unit ? " " + unit : ""}`);
  }));
  const notes = [];
  if (n.missing.length) notes.push(el("div", { class: "note warn" }, `NEWS2 missing: ${n.missing.map((m) => PARAM[m] || m).join(", ")}`));
  if (n.carried.length) notes.push(el("div", { class: "note" }, `carried forward: ${n.carried.map((m) => PARAM[m] || m).join(", ")}`));
  if (n.spo2_scale === 2) notes.push(el("div", { class: "note" }, "SpO₂ scale 2 (target 88–92%)"));
  const staleNote = bed.last_reading_age_s > 600 ? " (no recent reading)" : "";
  notes.push(el("div", { class: bed.last_reading_age_s > 600 ? "note warn" : "note" }, `last reading ${ago(bed.last_reading_age_s)} ago${staleNote}`));
  if (bed.silenced) notes.push(el("div", { class: "note warn" }, bed.silenced.message));
  const alerting = bed.alerts.some((a) => a.state !== "acknowledged") ? " alerting" : "";
  return el("article", { class: `bed band-${band}${alerting}`, "data-bed": bed.bed, "data-patient": bed.patient_id, tabindex: 0,
    onclick: () => showPatient(bed.patient_id), onkeydown: (e) => { if (e.key === "Enter") showPatient(bed.patient_id); } },
    el("div", { class: "top" }, el("span", { class: "name" }, bed.bed), score), vitals, notes, bed.alerts.map(alertRow));
}

function render(data) {
  latest = data;
  const clock = document.getElementById("clock");
  if (!data.data_clock) { clock.textContent = "no readings in the lake yet"; return; }
  const when = new Date(data.data_clock).toISOString().replace("T", " ").slice(0, 19) + "Z";
  clock.textContent = `data up to ${when}` + (data.lag_s !== null ? ` · lake ${ago(Math.max(0, data.lag_s))} behind` : "");
  clock.className = data.lag_s > 120 ? "late" : "";
  const filter = document.getElementById("filter");
  const chosen = filter.value;
  filter.replaceChildren(el("option", { value: "" }, "every hospital"),
    ...data.hospitals.map((h) => el("option", { value: h.hospital_id, selected: h.hospital_id === chosen }, `${h.name} (${h.hospital_id})`)));
  const main = document.getElementById("board");
  const hospitals = data.hospitals.filter((h) => !chosen || h.hospital_id === chosen);
  main.replaceChildren(...(hospitals.length ? hospitals.map((h) => el("section", { class: "hospital", "data-hospital": h.hospital_id },
    el("h2", {}, `${h.name} (${h.hospital_id})`),
    h.units.map((u) => el("section", { class: "unit", "data-unit": u.unit },
      el("h3", {}, u.unit, el("span", { class: "load" },
        u.load ? [el("b", {}, u.load.patients), " patients · ", el("b", {}, u.load.critical), " critical · ",
          el("b", {}, u.load.urgent), " urgent · ", el("b", {}, u.load.alerts), " alerts (last 5 min)"] : "no load window yet",
        ` · ${u.beds.length} occupied beds · ${u.open_alerts} alerts awaiting acknowledgement`)),
      el("div", { class: "beds" }, u.beds.map((b) => bedTile(b, data.stale_after_s)))))))
    : [el("p", { class: "empty" }, "No occupied beds.")]));
}

function sparkline(points, key, label, limits) {
  const vals = points.map((p) => [p.ts, key === "news2" ? (p.news2_total ?? p.news2_partial) : p[key]]).filter((p) => typeof p[1] === "number");
  const box = el("div", { class: "chart", "data-series": key }, el("h4", {}, label, vals.length ? ` · now ${fmt(key, vals[vals.length - 1][1])}` : " · no values"));
  if (!vals.length) return box;
  const W = 900, H = 90, pad = 22;
  const t0 = points[0].ts, t1 = Math.max(points[points.length - 1].ts, t0 + 1);
  const ys = vals.map((v) => v[1]).concat((limits || []).filter((v) => v !== null));
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi === lo) { hi += 1; lo -= 1; }
  const x = (t) => pad + (W - 2 * pad) * (t - t0) / (t1 - t0), y = (v) => H - 12 - (H - 24) * (v - lo) / (hi - lo);
  const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, attrs, text) => { const n = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); if (text) n.textContent = text; svg.append(n); return n; };
  for (const lim of limits || []) if (lim !== null) add("line", { class: "limit", x1: pad, x2: W - pad, y1: y(lim), y2: y(lim) });
  add("polyline", { points: vals.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ") });
  if (vals.length < 40) vals.forEach(([t, v]) => add("circle", { cx: x(t), cy: y(v), r: 2 }));
  add("text", { x: 2, y: 10 }, fmt(key, hi)); add("text", { x: 2, y: H - 2 }, fmt(key, lo));
  const hhmm = (t) => new Date(t).toISOString().slice(11, 16) + "Z";
  add("text", { x: pad, y: H - 2 }, hhmm(t0)); add("text", { x: W - pad - 34, y: H - 2 }, hhmm(t1));
  box.append(svg);
  return box;
}

async function showPatient(pid) {
  openPatient = pid;
  const r = await fetch(`/api/patient/${encodeURIComponent(pid)}`);
  if (!r.ok) { toast("No readings for this patient in the lake", true); return; }
  const p = await r.json();
  if (openPatient !== pid) return;
  document.getElementById("p-title").textContent = `${p.hospital} (${p.hospital_id}), ${p.unit}, bed ${p.bed} · patient ${p.patient_id} · last ${p.hours} h`;
  document.getElementById("p-charts").replaceChildren(...TREND.map(([k, label, lim]) => sparkline(p.points, k, label, lim)));
  document.getElementById("p-timeline").replaceChildren(...(p.timeline.length ? p.timeline.map((a) => el("li", { "data-status": a.status },
    `${new Date(a.ts).toISOString().slice(11, 19)}Z `, el("span", { class: `state ${a.status}` }, a.status), ` ${a.severity} · ${a.message}`))
    : [el("li", {}, "no alerts in this period")]));
  document.getElementById("patient").hidden = false;
}

function closePatient() { openPatient = null; document.getElementById("patient").hidden = true; }

async function refresh() {
  if (inFlight) return inFlight;
  inFlight = (async () => {
    try {
      const r = await fetch("/api/board");
      render(await r.json());
      if (openPatient) await showPatient(openPatient);
    } catch (e) {
      document.getElementById("clock").textContent = `board unavailable: ${e.message}`;
    } finally { inFlight = null; }
  })();
  return inFlight;
}

document.getElementById("close").addEventListener("click", closePatient);
document.getElementById("patient").addEventListener("click", (e) => { if (e.target.id === "patient") closePatient(); });
document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePatient(); });
document.getElementById("filter").addEventListener("change", () => latest && render(latest));
document.getElementById("by").value = localStorage.getItem("wardwatch.by") || "";
const events = new EventSource("/api/events");
events.addEventListener("changed", refresh);
events.onerror = () => { document.getElementById("clock").textContent = "reconnecting to the board…"; };
refresh();
