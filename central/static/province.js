// The province's page: every office's live state (refreshed every 5 s) and a period's figures.
// A client of /api/offices and /api/figures only.
"use strict";
(function () {
  const app = document.getElementById("app");
  const csrf = app.dataset.csrf;
  const t = JSON.parse(document.getElementById("texts").textContent);
  const fmtMin = (s) => (s === null || s === undefined) ? t.none : Math.round(s / 60) + " " + t.minutes;
  const cell = (tr, text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; };

  async function offices() {
    let data;
    try {
      const r = await fetch("/api/offices", {credentials: "same-origin"});
      if (r.status === 401) { window.location.assign("/login"); return; }
      data = await r.json();
    } catch (e) { return; }
    if (!data.ok) { document.getElementById("summary").textContent = data.message || ""; return; }
    document.getElementById("summary").textContent = t.summary.replace("{up}", data.reachable).replace("{down}", data.unreachable);
    const body = document.querySelector("#offices tbody");
    body.textContent = "";
    for (const o of data.offices) {
      const tr = document.createElement("tr");
      tr.dataset.office = o.office;
      tr.className = o.reachable ? "up" : "down";
      const name = cell(tr, o.name);
      const code = document.createElement("small"); code.textContent = " " + o.office; name.appendChild(code);
      cell(tr, o.reachable ? t.up : (o.last_seen ? t.down : t.down + " (" + t.never + ")"), "link");
      cell(tr, o.open_counters); cell(tr, o.paused_counters); cell(tr, o.waiting, "waiting");
      cell(tr, fmtMin(o.longest_wait_s));
      cell(tr, o.devices_down.length ? o.devices_down.join(", ") : t.none, o.devices_down.length ? "alert" : "");
      cell(tr, o.version ? o.version + (o.config_sha256 ? " · " + o.config_sha256 : "") : t.none);
      body.appendChild(tr);
    }
    document.getElementById("updated").textContent = new Date().toLocaleTimeString("vi-VN");
  }

  async function figures(ev) {
    if (ev) ev.preventDefault();
    const by = document.getElementById("by").value;
    const q = new URLSearchParams({from: document.getElementById("from").value, to: document.getElementById("to").value, by});
    const msg = document.getElementById("fig-message");
    msg.textContent = "";
    const r = await fetch("/api/figures?" + q, {credentials: "same-origin"});
    const data = await r.json();
    const body = document.querySelector("#figures tbody");
    body.textContent = "";
    if (!data.ok) { msg.textContent = data.message; return; }
    document.getElementById("fig-name").textContent = by === "field" ? t.by_field : t.by_office;
    for (const row of data.rows) {
      const tr = document.createElement("tr");
      cell(tr, row.name); cell(tr, row.tickets); cell(tr, fmtMin(row.mean_wait_s)); cell(tr, fmtMin(row.mean_service_s));
      cell(tr, row.no_show); cell(tr, row.satisfied_pct === null ? t.none : row.satisfied_pct + " %");
      body.appendChild(tr);
    }
  }

  async function post(url) {
    const r = await fetch(url, {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}});
    return r.json();
  }
  document.getElementById("period").addEventListener("submit", figures);
  document.getElementById("lang").addEventListener("click", async (ev) => { await post("/lang/" + ev.target.dataset.lang); window.location.reload(); });
  document.getElementById("logout").addEventListener("click", async () => { const d = await post("/logout"); window.location.assign(d.next || "/login"); });
  offices(); figures();
  setInterval(offices, 5000);
})();
