// The technician's configuration page: fields built from the office config, saved as one change;
// the loader's messages (the same as `motcua config check`) are shown under their fields.
"use strict";
(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const DAYS = {mon: "Thứ Hai", tue: "Thứ Ba", wed: "Thứ Tư", thu: "Thứ Năm", fri: "Thứ Sáu", sat: "Thứ Bảy", sun: "Chủ Nhật"};
  const POL = {none: "Theo thứ tự đến", strict: "Ưu tiên trước", interleave: "Xen kẽ"};

  function input(field, value, type) {
    const td = document.createElement("td"), el = document.createElement(type === "select" ? "select" : "input");
    if (type === "checkbox") { el.type = "checkbox"; el.checked = !!value; }
    else if (type === "select") {
      for (const k in POL) { const o = document.createElement("option"); o.value = k; o.textContent = POL[k]; el.appendChild(o); }
      el.value = value;
    } else { el.value = value === null || value === undefined ? "" : value; if (type) el.type = type; }
    el.dataset.field = field;
    const err = document.createElement("p"); err.className = "err"; err.dataset.err = field;
    td.appendChild(el); td.appendChild(err); return td;
  }
  function text(tr, t) { const td = document.createElement("td"); td.textContent = t; tr.appendChild(td); }
  function days(box, prefix, values) {
    box.textContent = "";
    for (const d in DAYS) {
      const l = document.createElement("label"); l.textContent = DAYS[d] + " ";
      const el = document.createElement("input"); el.value = (values || {})[d] || ""; el.dataset.field = prefix + "." + d; el.dataset.day = d;
      const err = document.createElement("p"); err.className = "err"; err.dataset.err = prefix + "." + d;
      l.appendChild(el); box.appendChild(l); box.appendChild(err);
    }
  }
  function fill(form) {
    const sv = $("services"); sv.textContent = "";
    form.services.forEach((s, i) => {
      const tr = document.createElement("tr"); tr.dataset.code = s.code; const p = "services[" + i + "].";
      text(tr, s.code); tr.appendChild(input(p + "name", s.name)); tr.appendChild(input(p + "number_start", s.number_start));
      tr.appendChild(input(p + "number_end", s.number_end)); tr.appendChild(input(p + "daily_quota", s.daily_quota));
      tr.appendChild(input(p + "priority.policy", s.priority, "select")); tr.appendChild(input(p + "enabled", s.enabled, "checkbox"));
      sv.appendChild(tr);
    });
    const cv = $("counters"); cv.textContent = "";
    form.counters.forEach((c, i) => {
      const tr = document.createElement("tr"); tr.dataset.number = c.number; const p = "counters[" + i + "].";
      text(tr, String(c.number)); tr.appendChild(input(p + "name", c.name)); tr.appendChild(input(p + "services", c.services));
      tr.appendChild(input(p + "zone", c.zone)); tr.appendChild(input(p + "floor", c.floor));
      cv.appendChild(tr);
    });
    days($("hours"), "office.hours", form.hours);
    $("tw-on").checked = form.ticket_windows !== null;
    days($("tw"), "office.ticket_windows", form.ticket_windows || form.hours);
    $("tw").hidden = form.ticket_windows === null;
    $("holidays").value = form.holidays.join("\n");
  }
  $("tw-on").addEventListener("change", () => { $("tw").hidden = !$("tw-on").checked; });
  const val = (f) => { const el = document.querySelector('[data-field="' + f + '"]'); return el.type === "checkbox" ? el.checked : el.value; };
  function collect() {
    const services = boot.form.services.map((s, i) => {
      const p = "services[" + i + "].";
      return {code: s.code, name: val(p + "name"), number_start: val(p + "number_start"), number_end: val(p + "number_end"),
              daily_quota: val(p + "daily_quota"), priority: val(p + "priority.policy"), enabled: val(p + "enabled")};
    });
    const counters = boot.form.counters.map((c, i) => {
      const p = "counters[" + i + "].";
      return {number: c.number, name: val(p + "name"), services: val(p + "services"), zone: val(p + "zone"), floor: val(p + "floor")};
    });
    const week = (prefix) => { const o = {}; for (const d in DAYS) o[d] = val(prefix + "." + d); return o; };
    return {services, counters, hours: week("office.hours"),
            ticket_windows: $("tw-on").checked ? week("office.ticket_windows") : null,
            holidays: $("holidays").value.split("\n")};
  }
  function clearErrors() {
    document.querySelectorAll(".err").forEach((e) => { e.textContent = ""; });
    document.querySelectorAll(".bad").forEach((e) => e.classList.remove("bad"));
    $("other-errors").textContent = "";
  }
  function showIssue(i) {
    // the nearest field: services[2].daily_quota, else office.holidays for office.holidays[1], ...
    let f = i.field;
    while (f) {
      const box = document.querySelector('[data-err="' + f + '"]');
      if (box) {
        box.textContent = (box.textContent ? box.textContent + "; " : "") + i.message;
        const el = document.querySelector('[data-field="' + f + '"]'); if (el) el.classList.add("bad");
        return;
      }
      const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
      f = cut > 0 ? f.slice(0, cut) : "";
    }
    const li = document.createElement("li"); li.textContent = i.field + ": " + i.message; $("other-errors").appendChild(li);
  }
  function history(items) {
    const ul = $("history"); ul.textContent = "";
    for (const h of items) {
      const li = document.createElement("li");
      li.textContent = h.ts.slice(0, 16).replace("T", " ") + " — " + h.name + " (" + h.login + "): " +
        h.changes.map((c) => c.field + ": " + (c.old ?? "—") + " → " + (c.new ?? "—")).join("; ");
      ul.appendChild(li);
    }
  }
  $("save").addEventListener("click", async () => {
    clearErrors(); $("message").textContent = "Đang lưu…";
    const r = await fetch("/api/tech/config", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(collect())});
    let j = {}; try { j = await r.json(); } catch (e) { j = {message: "Lỗi " + r.status}; }
    $("message").textContent = j.message || "";
    for (const i of j.issues || []) showIssue(i);
    if (j.ok || j.saved) {
      const cur = await (await fetch("/api/tech/config", {credentials: "same-origin"})).json();
      boot.form = cur.form; fill(cur.form); history(cur.history);
    }
  });
  fill(boot.form); history(boot.history);
  document.body.dataset.ready = "1";
})();
