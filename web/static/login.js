// Sign-in: a JSON POST carrying the page's CSRF token; the answer is shown in plain words.
"use strict";
(function () {
  const form = document.getElementById("login");
  const msg = document.getElementById("message");
  const csrf = form.dataset.csrf;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    msg.textContent = "";
    const body = {login: document.getElementById("user").value, password: document.getElementById("password").value};
    try {
      const r = await fetch("/login", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)});
      const data = await r.json();
      if (data.ok) { window.location.assign(data.next); return; }
      msg.textContent = data.message;
      document.getElementById("password").select();
    } catch (e) {
      msg.textContent = "Không kết nối được máy chủ / Cannot reach the server.";
    }
  });
  document.getElementById("lang").addEventListener("click", async (ev) => {
    await fetch("/lang/" + ev.target.dataset.lang, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf}});
    window.location.reload();
  });
})();
