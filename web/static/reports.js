// Reports in the browser: the period's tables, charts and files as `motcua report` wrote them.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const TIMES = {service: "times_by_service", counter: "times_by_counter", staff: "times_by_staff"};
  const SAT = {service: "satisfaction_by_service", counter: "satisfaction_by_counter", staff: "satisfaction_by_staff"};
  let last = null;
  $("kind").addEventListener("change", () => { $("end-box").hidden = $("kind").value !== "range"; });
  function table(box, t) {
    box.textContent = "";
    if (!t || !t.rows.length) { box.textContent = "Không có số liệu."; return; }
    const tb = document.createElement("table"), head = document.createElement("tr");
    for (const c of t.columns) { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); }
    const thead = document.createElement("thead"); thead.appendChild(head); tb.appendChild(thead);
    const body = document.createElement("tbody");
    for (const r of t.rows) {
      const tr = document.createElement("tr");
      for (const v of r) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
      body.appendChild(tr);
    }
    tb.appendChild(body); box.appendChild(tb);
  }
  function render() {
    if (!last) return;
    const dim = $("dim").value;
    const s = $("summary"); s.textContent = "";
    for (const [k, v] of last.summary) { const tr = document.createElement("tr"); for (const x of [k, v]) { const td = document.createElement("td"); td.textContent = x; tr.appendChild(td); } s.appendChild(tr); }
    table($("times"), last.tables[TIMES[dim]]);
    table($("sat"), last.tables[SAT[dim]]);
    const d = $("downloads"); d.textContent = "";
    for (const f of last.downloads) {
      const li = document.createElement("li"), a = document.createElement("a");
      a.href = "/api/manager/report-file/" + f; a.textContent = f.split("/").pop(); a.setAttribute("download", "");
      li.appendChild(a); d.appendChild(li);
    }
    const c = $("charts"); c.textContent = "";
    for (const f of last.charts) { const img = document.createElement("img"); img.src = "/api/manager/report-file/" + f; img.alt = f; c.appendChild(img); }
  }
  $("dim").addEventListener("change", render);
  $("period").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("message").textContent = "Đang lập báo cáo…";
    const r = await fetch("/api/manager/report", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({kind: $("kind").value, date: $("date").value, end: $("end").value || null})});
    let j = {}; try { j = await r.json(); } catch (err) { j = {message: "Lỗi " + r.status}; }
    if (!j.ok) { $("message").textContent = j.message || "Lỗi"; return; }
    last = j; $("message").textContent = "Báo cáo " + j.label; render();
    document.body.dataset.report = j.label;
  });
})();
