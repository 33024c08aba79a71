// The clerk's console: live state over SSE, actions as JSON POSTs with the CSRF token,
// every action on a key (numpad and F-keys) so a busy clerk never needs the mouse.
"use strict";
(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const T = boot.t;
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const state = {counters: {}, queue: null, waiting: [], day: null, offset: 0};
  let typed = "";
  let busy = false;

  // ---------------------------------------------------------------- counters of this clerk
  const pick = $("counter");
  for (const c of boot.counters) {
    const o = document.createElement("option");
    o.value = c.number; o.textContent = c.name; pick.appendChild(o);
  }
  const saved = localStorage.getItem("motcua.counter");
  if (saved && boot.counters.some((c) => String(c.number) === saved)) pick.value = saved;
  pick.addEventListener("change", () => { localStorage.setItem("motcua.counter", pick.value); render(); });
  const mine = () => boot.counters.find((c) => String(c.number) === pick.value);

  for (const r of boot.reasons) {
    const o = document.createElement("option"); o.value = r; o.textContent = r; $("reason-pick").appendChild(o);
  }
  for (const s of boot.services) {
    const o = document.createElement("option"); o.value = s.code; o.textContent = s.name; $("to-service").appendChild(o);
  }
  for (const c of boot.all_counters) {
    const o = document.createElement("option"); o.value = c.number; o.textContent = c.name; $("to-counter").appendChild(o);
  }
  $("to-service").addEventListener("change", () => { if ($("to-service").value) $("to-counter").value = ""; });
  $("to-counter").addEventListener("change", () => { if ($("to-counter").value) $("to-service").value = ""; });

  // ---------------------------------------------------------------- rendering
  function fmtWait(iso) {
    const s = Math.max(0, Math.floor((Date.now() / 1000 + state.offset) - Date.parse(iso) / 1000));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60}′` : `${m}′${String(s % 60).padStart(2, "0")}″`;
  }

  function render() {
    const c = mine();
    const st = c ? state.counters[String(c.number)] : null;
    const status = st ? st.status : "closed";
    $("status").textContent = T["status_" + status] || status;
    $("status").className = "status " + status;
    $("reason").textContent = st && st.reason ? st.reason : "";
    $("serving").textContent = st && st.serving ? st.serving.number : T.none;
    $("serving-info").textContent = st && st.serving ? st.serving.service_name +
      (st.serving.dossier ? ` · ${T.dossier} ${st.serving.dossier}` : "") : "";
    document.body.dataset.status = status;
    $("open").hidden = status !== "closed";
    $("close").hidden = status === "closed";
    $("pause").hidden = status !== "open";
    $("resume").hidden = status !== "paused";
    for (const b of document.querySelectorAll("button[data-action]")) {
      const a = b.dataset.action;
      b.disabled = busy || !c || (status === "closed" && a !== "open");
    }
    renderWaiting(c);
    const d = state.day || {served: 0, no_show: 0, mean_service_s: null};
    $("day-served").textContent = d.served;
    $("day-noshow").textContent = d.no_show;
    $("day-mean").textContent = d.mean_service_s == null ? T.none : `${(d.mean_service_s / 60).toFixed(1)} ${T.minutes}`;
    $("typed").hidden = !typed;
    $("typed-number").textContent = typed;
  }

  function renderWaiting(c) {
    const body = $("waiting-list");
    const services = c ? c.services : [];
    // my services' tickets, except those reserved for another counter; and those reserved for mine
    const rows = state.waiting.filter((t) => c && (t.counter === c.number
      || (services.includes(t.service) && (t.counter === null || t.counter === undefined))));
    body.textContent = "";
    for (const t of rows.slice(0, 60)) {
      const tr = document.createElement("tr");
      if (t.priority !== "none") tr.className = "prio";
      if (t.status === "no_show") tr.className = "absent";
      const cells = [t.number, t.service_name, boot.priority[t.priority] || "",
                     t.status === "no_show" ? T.absent : fmtWait(t.issued_at)];
      for (const v of cells) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
      const td = document.createElement("td");
      const b = document.createElement("button");
      b.textContent = T.call; b.className = "small"; b.dataset.number = t.number;
      b.addEventListener("click", () => act("call", {number: t.number}));
      td.appendChild(b); tr.appendChild(td); body.appendChild(tr);
    }
    $("waiting-count").textContent = `(${rows.filter((t) => t.status === "waiting").length} ${T.people_waiting})`;
    $("nobody").hidden = rows.length > 0;
  }
  setInterval(() => renderWaiting(mine()), 1000);

  // ---------------------------------------------------------------- live state
  function apply(key, value) {
    if (key.startsWith("counter:")) state.counters[key.slice(8)] = value;
    else if (key === "queue") state.queue = value;
    else if (key === "waiting") state.waiting = value;
    else if (key === "day") state.day = value;
  }
  function connect() {
    const es = new EventSource("/api/events");
    es.addEventListener("snapshot", (ev) => {
      const s = JSON.parse(ev.data);
      state.counters = s.counters; state.queue = s.queue; state.waiting = s.waiting; state.day = s.day;
      state.offset = s.now - Date.now() / 1000;
      $("offline").hidden = true; document.body.dataset.live = "1"; render();
    });
    es.addEventListener("part", (ev) => { const p = JSON.parse(ev.data); apply(p.key, p.value); render(); });
    es.onerror = () => {
      $("offline").hidden = false; document.body.dataset.live = "0";
      if (es.readyState === EventSource.CLOSED) {  // refused: signed out or disabled, or the server restarted
        fetch("/api/state", {credentials: "same-origin"}).then((r) => {
          if (r.status === 401) window.location.assign("/login"); else setTimeout(connect, 2000);
        }, () => setTimeout(connect, 2000));
      }
    };
  }
  connect();

  // ---------------------------------------------------------------- actions
  function rid() {
    const a = new Uint8Array(9); crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function say(text, ok) {
    const m = $("message"); m.textContent = text; m.className = "message " + (ok ? "ok" : "err");
  }
  async function act(action, extra) {
    const c = mine();
    if (!c || busy) return;
    const body = Object.assign({action: action, rid: rid()}, extra || {});
    busy = true; render();
    try {
      for (let attempt = 0; ; attempt++) {  // a retry keeps the request id: never a second call
        try {
          const r = await fetch(`/api/counter/${c.number}`, {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)});
          const data = await r.json();
          if (r.status === 401) { window.location.assign("/login"); return; }
          say(data.message, data.ok);
          if (data.ok && data.counter) { state.counters[String(c.number)] = data.counter; }
          return data;
        } catch (e) {
          if (attempt >= 2) { say("Không kết nối được máy chủ. / Cannot reach the server.", false); return; }
          await new Promise((res) => setTimeout(res, 500));
        }
      }
    } finally { busy = false; render(); }
  }
  function transfer() {
    const svc = $("to-service").value, ctr = $("to-counter").value;
    if (!svc && !ctr) { $("to-service").focus(); return; }
    act("transfer", svc ? {service: svc} : {to_counter: Number(ctr)});
  }
  function pauseOrResume() {
    const st = mine() && state.counters[String(mine().number)];
    if (st && st.status === "paused") act("resume"); else act("pause", {reason: $("reason-pick").value});
  }
  function openOrClose() {
    const st = mine() && state.counters[String(mine().number)];
    act(st && st.status !== "closed" ? "close" : "open");
  }
  function callTyped(n) {
    const number = (n || $("call-number").value).trim();
    if (!number) { $("call-number").focus(); return; }
    act("call", {number: number}).then(() => { $("call-number").value = ""; });
  }
  for (const b of document.querySelectorAll("button[data-action]")) {
    b.addEventListener("click", () => {
      const a = b.dataset.action;
      if (a === "transfer") transfer();
      else if (a === "pause") act("pause", {reason: $("reason-pick").value});
      else if (a === "call") callTyped();
      else act(a);
    });
  }
  $("call-number").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); ev.stopPropagation(); callTyped(); }
  });

  // ---------------------------------------------------------------- keys: numpad and F-keys
  document.addEventListener("keydown", (ev) => {
    // numpad keys act even right after picking a reason or a transfer target in a list
    if (document.activeElement.tagName === "SELECT" && ev.code.startsWith("Numpad")) document.activeElement.blur();
    const inField = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
    const fkeys = {F1: () => act("next"), F2: () => act("recall"), F3: () => act("skip"), F4: () => act("finish"),
                   F6: pauseOrResume, F7: transfer, F8: () => callTyped(typed || undefined), F9: openOrClose};
    if (fkeys[ev.key]) { ev.preventDefault(); const t = typed; typed = ""; if (ev.key === "F8" && t) callTyped(t); else fkeys[ev.key](); render(); return; }
    if (inField) { if (ev.key === "Escape") document.activeElement.blur(); return; }
    // by physical key first: with NumLock off a numpad sends Delete/End/... as `key`
    const digit = /^Numpad[0-9]$/.test(ev.code) ? ev.code.slice(6) : (/^[0-9]$/.test(ev.key) ? ev.key : null);
    if (digit !== null) { typed = (typed + digit).slice(0, 12); render(); ev.preventDefault(); return; }
    const codes = {NumpadEnter: "Enter", NumpadAdd: "+", NumpadSubtract: "-", NumpadMultiply: "*",
                   NumpadDivide: "/", NumpadDecimal: ".", NumpadComma: ","};
    const pad = {"Enter": () => { if (typed) { const t = typed; typed = ""; callTyped(t); } else act("next"); },
                 "+": () => act("recall"), "-": () => act("skip"), "*": () => act("finish"),
                 "/": pauseOrResume, ".": transfer, ",": transfer,
                 "Escape": () => { typed = ""; }, "Backspace": () => { typed = typed.slice(0, -1); }};
    const key = codes[ev.code] || ev.key;
    if (pad[key]) { ev.preventDefault(); pad[key](); render(); }
  });

  $("logout").addEventListener("click", async () => {
    const r = await fetch("/logout", {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}});
    const data = await r.json(); window.location.assign(data.next || "/login");
  });
  $("lang").addEventListener("click", async (ev) => {
    await fetch("/lang/" + ev.target.dataset.lang, {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}});
    window.location.reload();
  });
  render();
})();
