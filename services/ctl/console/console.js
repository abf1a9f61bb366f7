// crvs-hub console: reads /api/status (the document of `crvsctl status
// --json`, plus history) and draws it. Data goes into the page through
// textContent only, never as HTML. No external resources: charts are SVG
// drawn here.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a"];
// The token, when the console wants one: from the address's fragment
// (#token=..., never sent to the server), kept for this tab only and taken
// out of the address bar so it stays out of bookmarks and screen shares.
const token = (() => {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {
    sessionStorage.setItem("crvs-console-token", given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("crvs-console-token");
})();
let refreshSeconds = 10;
let timer = null;

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function num(v) { return v === null || v === undefined ? "-" : String(v); }

function age(s) {
  if (s === null || s === undefined) return "-";
  if (s < 120) return Math.round(s) + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}

function row(tbody, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = el("td", c.text, c.key ? {"data-k": c.key} : {});
    if (c.num) td.className = "num";
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
  return tr;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function renderServices(doc) {
  const tbody = document.querySelector("#services tbody");
  const sum = document.querySelector("#summary tbody");
  clear(tbody);
  clear(sum);
  for (const s of doc.services) {
    for (const p of s.partitions) {
      const tr = row(tbody, [
        {text: s.service}, {text: s.topic}, {text: p.partition, num: true},
        {text: p.stored_offset === -2 ? "beginning" : num(p.stored_offset), num: true},
        {text: num(p.log_end), num: true},
        {text: p.data_loss && p.lag_messages === null ? "unknown" : num(p.lag_messages), num: true,
         key: "lag:" + s.service + ":" + p.partition},
        {text: age(p.lag_seconds), num: true},
        {text: p.last_commit_age_seconds === null ? "-" : age(p.last_commit_age_seconds) + " ago", num: true},
      ]);
      if (p.data_loss) tr.className = "broken";
      else if (p.lag_messages > 0) tr.className = "lagging";
    }
    const t = s.throughput_5m, d = s.dead_letters;
    row(sum, [
      {text: s.service},
      {text: num(s.lag_messages), num: true, key: "lag:" + s.service},
      {text: t.per_second.toFixed(2), num: true},
      {text: t.created, num: true, key: "created5m:" + s.service},
      {text: t.corrected, num: true}, {text: t.duplicate, num: true},
      {text: t.dead_lettered, num: true, key: "deadlettered5m:" + s.service},
      {text: d.last_hour, num: true, key: "dl1h:" + s.service},
      {text: d.last_day, num: true, key: "dl24h:" + s.service},
      {text: d.new, num: true, key: "dlwaiting:" + s.service},
    ]);
  }
}

// Partitions stopped for broker data loss, with the numbers an operator
// decides on; the section shows only when there are any.
function renderDataLoss(doc) {
  const tbody = document.querySelector("#loss tbody");
  clear(tbody);
  for (const s of doc.services) {
    for (const p of s.partitions) {
      const l = p.data_loss;
      if (!l) continue;
      const k = "loss:" + s.service + ":" + p.partition;
      const found = l.stopped ? l.detected_at + " by " + l.detected_by : "not yet stopped by a service";
      const tr = row(tbody, [{text: s.service}, {text: s.topic}, {text: p.partition, num: true},
                             {text: l.kind, key: k + ":kind"},
                             {text: l.stored === -2 ? "nothing" : num(l.stored), num: true, key: k + ":stored"},
                             {text: num(l.log_start), num: true, key: k + ":log_start"},
                             {text: num(l.log_end), num: true, key: k + ":log_end"},
                             {text: l.missing === null ? "not known" : l.missing, num: true, key: k + ":missing"},
                             {text: found}]);
      tr.className = "broken";
    }
  }
  document.getElementById("loss-section").hidden = !tbody.firstChild;
}

function renderDeadLetters(doc) {
  const tbody = document.querySelector("#dead-letters tbody");
  clear(tbody);
  for (const s of doc.services) {
    for (const r of s.dead_letters.by_reason) {
      const k = "dl:" + s.service + ":" + r.reason;
      row(tbody, [{text: s.service}, {text: r.reason},
                  {text: r.last_hour, num: true, key: k + ":1h"},
                  {text: r.last_day, num: true, key: k + ":24h"},
                  {text: r.new, num: true, key: k + ":waiting"}]);
    }
  }
  if (!tbody.firstChild) row(tbody, [{text: "none in the last day"}, {text: ""}, {text: ""}, {text: ""}, {text: ""}]);
}

function renderLinker(doc) {
  const l = doc.linker;
  document.getElementById("linker-queue").textContent = l ? l.queue_records : "-";
  let text = "the person registry is not migrated";
  if (l) {
    text = (l.queue_records ? "oldest queued " + Math.round(l.oldest_age_seconds) + " s ago; " : "") +
      l.linkers_connected + " linker" + (l.linkers_connected === 1 ? "" : "s") + " connected, " +
      (l.active ? "active: " + l.active : "none active") +
      (l.queue_records && !l.active ? ": nothing folds (start a service with linker.enabled)" : "");
  }
  document.getElementById("linker-detail").textContent = text;
}

function renderReconciliation(doc) {
  const rec = doc.reconciliation;
  document.getElementById("reconciliation-open").textContent = rec ? rec.open : "-";
  const parts = rec ? Object.entries(rec.by_reason).map(([k, v]) => k + " " + v) : [];
  document.getElementById("reconciliation-by-reason").textContent =
    rec ? (parts.length ? parts.join(", ") : "none open") : "the person registry is not migrated";
  const tbody = document.querySelector("#reconciliation tbody");
  clear(tbody);
  for (const it of doc.reconciliation_items || [])
    row(tbody, [{text: it.id}, {text: it.detected_at}, {text: it.reason}, {text: it.person}, {text: it.detail}]);
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// series: [{name, points: [[t, v], ...]}]; bars: draw columns instead of lines.
function chart(svgId, legendId, series, t0, t1, bars) {
  const svg = document.getElementById(svgId), legend = document.getElementById(legendId);
  clear(svg);
  clear(legend);
  const W = 600, H = 220, L = 48, R = 8, T = 8, B = 22;
  let max = 0;
  for (const s of series) for (const [, v] of s.points) max = Math.max(max, v);
  max = max <= 0 ? 1 : max * 1.1;
  const x = (t) => L + (W - L - R) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0);
  const y = (v) => H - B - (H - B - T) * (v / max);
  svg.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"}));
  svg.appendChild(svgEl("line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"}));
  svg.appendChild(svgEl("text", {x: 2, y: T + 8}, String(Math.round(max))));
  svg.appendChild(svgEl("text", {x: 2, y: H - B}, "0"));
  svg.appendChild(svgEl("text", {x: L, y: H - 6}, "-" + Math.round((t1 - t0) / 60) + " min"));
  svg.appendChild(svgEl("text", {x: W - R - 24, y: H - 6}, "now"));
  const barW = (W - L - R) / 60 / Math.max(series.length, 1);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    if (bars) {
      for (const [t, v] of s.points) {
        if (v <= 0) continue;
        svg.appendChild(svgEl("rect", {x: x(t) + i * barW, y: y(v), width: Math.max(barW - 1, 1),
                                       height: H - B - y(v), fill: color}));
      }
    } else if (s.points.length) {
      const d = s.points.map(([t, v], j) => (j ? "L" : "M") + x(t).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
      svg.appendChild(svgEl("path", {d: d, fill: "none", stroke: color, "stroke-width": 2}));
      const [lt, lv] = s.points[s.points.length - 1];
      svg.appendChild(svgEl("circle", {cx: x(lt).toFixed(1), cy: y(lv).toFixed(1), r: 3, fill: color}));
    }
    const item = el("span", s.name);
    const swatch = el("i");
    swatch.style.background = color;
    item.prepend(swatch);
    legend.appendChild(item);
  });
}

function renderCharts(doc) {
  const h = doc.history || {};
  const now = doc.now || Math.floor(Date.now() / 1000);
  const lag = {};
  for (const sample of h.lag || [])
    for (const [svc, v] of Object.entries(sample.lag)) (lag[svc] = lag[svc] || []).push([sample.t, v]);
  // Since the console started (it samples the lag itself), at least 5 minutes, at most an hour.
  let first = now;
  for (const points of Object.values(lag)) if (points.length) first = Math.min(first, points[0][0]);
  const t0 = Math.max(now - 3600, Math.min(first, now - 300));
  chart("lag-chart", "lag-legend", Object.entries(lag).map(([name, points]) => ({name, points})),
        t0, now, false);
  const tp = h.throughput || {from: now - 3540, series: {}};
  const series = [];
  for (const [svc, s] of Object.entries(tp.series || {})) {
    series.push({name: svc + " stored", points: s.stored.map((v, i) => [tp.from + 60 * i, v])});
    if (s.dead_lettered.some((v) => v > 0))
      series.push({name: svc + " dead-lettered", points: s.dead_lettered.map((v, i) => [tp.from + 60 * i, v])});
  }
  chart("throughput-chart", "throughput-legend", series, tp.from, tp.from + 3600, true);
}

function render(doc) {
  const n = (doc.breaches || []).length;
  const badge = document.getElementById("overall");
  badge.textContent = n ? n + " BREACHED" : "OK";
  badge.className = "badge " + (n ? "breached" : "ok");
  document.getElementById("time").textContent = "as of " + doc.time;
  const err = document.getElementById("error");
  err.hidden = !doc.error;
  err.textContent = doc.error || "";
  const ul = document.getElementById("breaches");
  clear(ul);
  for (const b of doc.breaches || []) ul.appendChild(el("li", b));
  document.getElementById("breaches-section").hidden = n === 0;
  renderServices(doc);
  renderDataLoss(doc);
  renderDeadLetters(doc);
  renderLinker(doc);
  renderReconciliation(doc);
  renderCharts(doc);
  if (doc.refresh_s) refreshSeconds = doc.refresh_s;
  document.getElementById("refresh").textContent = refreshSeconds;
  document.body.dataset.loaded = "1";
}

async function refresh() {
  try {
    const r = await fetch("api/status", {cache: "no-store",
                                         headers: token ? {"Authorization": "Bearer " + token} : {}});
    if (!r.ok) throw new Error("HTTP " + r.status + ": " + (await r.text()).trim());
    render(await r.json());
  } catch (e) {
    const err = document.getElementById("error");
    err.hidden = false;
    err.textContent = "cannot load the status: " + e.message;
  }
  clearTimeout(timer);
  timer = setTimeout(refresh, refreshSeconds * 1000);
}

refresh();
