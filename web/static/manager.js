// The manager's desk: live queues, counters, device alerts (acknowledge, with a tone), TV notice.
"use strict";
(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const st = {queues: boot.queues, counters: boot.counters, alerts: boot.alerts, notice: boot.notice, ratings: boot.ratings, scheduled: boot.scheduled};
  const ROLE = {clerk: "Cán bộ", manager: "Quản lý", technician: "Kỹ thuật viên"};
  let staff = [];
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
      cell(tr, k.name); cell(tr, (STATUS[k.status] || k.status) + (k.status === "paused" && k.reason ? ": " + k.reason : ""), "st-" + k.status); cell(tr, k.staff || "—"); cell(tr, k.serving || "—"); c.appendChild(tr);
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
    const rc = st.ratings.counts;
    $("rating-counts").textContent = st.ratings.total ? ("Rất hài lòng " + rc.very_satisfied + " · Hài lòng " + rc.satisfied +
      " · Chưa hài lòng " + rc.unsatisfied + " (tổng " + st.ratings.total + ")") : "Chưa có đánh giá.";
    const uh = $("unhappy"); uh.textContent = "";
    for (const r of st.ratings.unsatisfied) {
      const li = document.createElement("li");
      li.textContent = r.at.slice(11, 16) + " · số " + r.number + " · Quầy " + r.counter + (r.staff ? " (" + r.staff + ")" : "") +
        ": " + r.reasons.join(", ") + (r.comment ? " — “" + r.comment + "”" : "");
      uh.appendChild(li);
    }
    const sc = $("scheduled"); sc.textContent = "";
    for (const n of st.scheduled) {
      const li = document.createElement("li"); li.dataset.id = n.id;
      const span = document.createElement("span");
      span.textContent = "Hẹn " + n.start.slice(11, 16) + " " + n.start.slice(8, 10) + "/" + n.start.slice(5, 7) + ": " + n.text;
      const b = document.createElement("button"); b.type = "button"; b.textContent = "Hủy"; b.className = "cancel";
      b.addEventListener("click", () => post("/api/manager/notice/scheduled/" + n.id + "/cancel"));
      li.appendChild(span); li.appendChild(b); sc.appendChild(li);
    }
    $("notice-now").textContent = (st.notice && st.notice.text) ? st.notice.text + (st.notice.until ? " (đến " + st.notice.until.slice(11, 16) + ")" : "") +
      (st.notice.boards ? " — " + st.notice.boards.join(", ") : "") : "—";
  }
  function renderStaff() {
    const tb = $("staff"); tb.textContent = "";
    for (const s of staff) {
      const tr = document.createElement("tr"); tr.dataset.login = s.login; if (s.disabled) tr.className = "disabled";
      cell(tr, s.login); cell(tr, s.name); cell(tr, ROLE[s.role] || s.role); cell(tr, s.counters.join(", ") || "—");
      cell(tr, s.disabled ? "Đã khóa" : "Đang dùng");
      const td = document.createElement("td");
      const mk = (label, cls, fn) => { const b = document.createElement("button"); b.type = "button"; b.textContent = label; b.className = cls; b.addEventListener("click", fn); td.appendChild(b); };
      mk(s.disabled ? "Mở lại" : "Khóa", "toggle", () => staffOp({op: s.disabled ? "enable" : "disable", login: s.login}));
      mk("Đặt lại mật khẩu", "reset", () => { const p = prompt("Mật khẩu mới cho " + s.login + " (ít nhất 8 ký tự):"); if (p) staffOp({op: "password", login: s.login, password: p}); });
      mk("Đổi quầy", "ctrs", () => { const c = prompt("Các quầy của " + s.login + ", ví dụ 1, 2:", s.counters.join(", ")); if (c !== null) staffOp({op: "counters", login: s.login, counters: c}); });
      tr.appendChild(td); tb.appendChild(tr);
    }
  }
  async function staffOp(body) { const j = await post("/api/manager/staff", body); if (j.staff) { staff = j.staff; renderStaff(); } return j; }
  fetch("/api/manager/staff", {credentials: "same-origin"}).then((r) => r.json()).then((j) => { staff = j.staff || []; renderStaff(); });
  $("staff-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    const j = await staffOp({op: "add", login: $("new-login").value, name: $("new-name").value, role: $("new-role").value,
                             counters: $("new-counters").value, password: $("new-password").value});
    if (j.ok) $("staff-add").reset();
  });
  for (const b of boot.boards) {
    const l = document.createElement("label"), c = document.createElement("input");
    c.type = "checkbox"; c.value = b; c.className = "board"; l.appendChild(c); l.appendChild(document.createTextNode(" " + b));
    $("notice-boards").appendChild(l);
  }
  $("notice-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const boards = Array.from(document.querySelectorAll("#notice-boards input.board:checked")).map((c) => c.value);
    post("/api/manager/notice", {text: $("notice-text").value, minutes: $("notice-minutes").value || null,
                                 start: $("notice-start").value || null, boards: boards.length ? boards : null});
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
