// The manager's desk: live queues, counters, device alerts (acknowledge, with a tone), TV notice.
"use strict";
(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const st = {queues: boot.queues, counters: boot.counters, alerts: boot.alerts, notice: boot.notice};
  const STATUS = {open: "Đang mở", paused: "Tạm dừng", closed: "Đang đóng"};
  let audio = null, seen = new Set(st.alerts.alerts.map((a) => a.id));
  const cell = (tr, text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); };
  const mins = (s) => (s === null || s === undefined) ? "—" : Math.max(0, Math.round(s / 60)) + " phút";

  function beep() {
    if (!audio) return;
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = 660; g.gain.value = 0.3; o.connect(g); g.connect(audio.destination);
    o.start(); o.stop(audio.currentTime + 0.6);
  }
  async function post(url, body) {
    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                                body: JSON.stringify(body || {}), credentials: "same-origin"});
    let j = {}; try { j = await r.json(); } catch (e) { j = {message: "Lỗi " + r.status}; }
    $("message").textContent = j.message || ""; return j;
  }
  function render() {
    const q = $("queues"); q.textContent = "";
    for (const s of st.queues) { const tr = document.createElement("tr"); cell(tr, s.name); cell(tr, String(s.waiting)); cell(tr, mins(s.longest_wait_s)); q.appendChild(tr); }
    const c = $("counters"); c.textContent = "";
    for (const k of st.counters) {
      const tr = document.createElement("tr"); tr.dataset.counter = k.number;
      cell(tr, k.name); cell(tr, STATUS[k.status] || k.status, "st-" + k.status); cell(tr, k.staff || "—"); cell(tr, k.serving || "—"); c.appendChild(tr);
    }
    const ul = $("alerts"); ul.textContent = "";
    let fresh = false;
    for (const a of st.alerts.alerts) {
      const li = document.createElement("li"); li.dataset.id = a.id; li.className = a.active ? "active" : "cleared";
      const span = document.createElement("span");
      span.textContent = a.text + " — từ " + a.since.slice(11, 16) + (a.active ? "" : " (đã hết)");
      const b = document.createElement("button"); b.type = "button"; b.textContent = "Đã biết"; b.className = "ack";
      b.addEventListener("click", () => post("/api/manager/alerts/" + a.id + "/ack"));
      li.appendChild(span); li.appendChild(b); ul.appendChild(li);
      if (!seen.has(a.id)) { seen.add(a.id); fresh = true; }
    }
    $("no-alerts").hidden = st.alerts.alerts.length > 0;
    if (fresh) beep();
    $("notice-now").textContent = (st.notice && st.notice.text) ? st.notice.text + (st.notice.until ? " (đến " + st.notice.until.slice(11, 16) + ")" : "") : "—";
  }
  $("notice-form").addEventListener("submit", (e) => {
    e.preventDefault();
    post("/api/manager/notice", {text: $("notice-text").value, minutes: $("notice-minutes").value || null});
  });
  $("notice-clear").addEventListener("click", () => post("/api/manager/notice", {text: ""}));
  $("sound").addEventListener("click", function () {
    const A = window.AudioContext || window.webkitAudioContext;
    if (A && !audio) audio = new A();
    if (audio) audio.resume(); this.textContent = "Chuông cảnh báo đã bật";
  });
  const es = new EventSource("/api/manager/events");
  es.addEventListener("snapshot", (e) => { Object.assign(st, JSON.parse(e.data)); $("offline").hidden = true; render(); document.body.dataset.live = "1"; });
  es.addEventListener("part", (e) => { const p = JSON.parse(e.data); st[p.key] = p.value; render(); });
  es.onerror = () => { $("offline").hidden = false; };
  render();
})();
