// The ticket's page on a citizen's phone: live over SSE (polling where EventSource is missing),
// a clear "Mời đến Quầy N" with a tone and vibration when the number is called. No framework.
"use strict";
(function () {
  var boot = JSON.parse(document.getElementById("boot").textContent);
  var T = boot.t, last = boot.data, audio = null;
  var $ = function (id) { return document.getElementById(id); };
  function fmt(s, k, v) { return s.split("{" + k + "}").join(v); }
  function waitWords(s) {
    if (s === null || s === undefined) return T.no_counter;
    if (s < 60) return T.soon;
    var m = Math.round(s / 60);
    if (m < 60) return fmt(T.about_min, "m", m);
    return fmt(fmt(T.about_h, "h", Math.floor(m / 60)), "m", m % 60);
  }
  function ring() {
    if (navigator.vibrate) { try { navigator.vibrate([400, 150, 400, 150, 400]); } catch (e) { /* not allowed */ } }
    if (!audio) return;
    var t0 = audio.currentTime;
    [0, 0.45, 0.9].forEach(function (d) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.setValueAtTime(0.0001, t0 + d);
      g.gain.exponentialRampToValueAtTime(0.5, t0 + d + 0.03);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + d + 0.35);
      o.connect(g); g.connect(audio.destination); o.start(t0 + d); o.stop(t0 + d + 0.4);
    });
  }
  function render(d) {
    if (!d) { location.reload(); return; }  // the day ended: the server shows the expired page
    var prev = last; last = d;
    document.body.setAttribute("data-state", d.state);
    $("number").textContent = d.number;
    $("service").textContent = d.service;
    $("prio").hidden = !d.priority;
    $("note").hidden = !(d.transferred && d.state === "waiting");
    $("note").textContent = fmt(T.transferred, "service", d.service);
    $("wait").hidden = d.state !== "waiting";
    if (d.state === "waiting") { $("ahead").textContent = d.ahead; $("eta").textContent = waitWords(d.wait_s); }
    var called = d.state === "called";
    $("call").hidden = !called;
    if (called) $("call").textContent = fmt((d.calls > 1 ? T.called_again : T.called), "counter", d.counter);
    var end = d.state === "done" || d.state === "no_show" || d.state === "cancelled";
    $("end").hidden = !end;
    if (end) $("end").textContent = T[d.state];
    $("keep").hidden = end;
    $("sound").hidden = end;
    document.title = called ? $("call").textContent : d.number + " – " + T.title;
    if (called && (!prev || prev.state !== "called" || prev.calls !== d.calls)) ring();
  }
  $("sound").addEventListener("click", function () {
    var A = window.AudioContext || window.webkitAudioContext;
    if (A && !audio) { audio = new A(); }
    if (audio && audio.resume) audio.resume();
    this.textContent = T.sound_on; this.className = "on";
  });
  var base = location.pathname.replace(/\/$/, "");
  if (window.EventSource) {
    var es = new EventSource(base + "/events");
    es.addEventListener("ticket", function (e) {
      $("offline").hidden = true; render(JSON.parse(e.data).data); document.body.setAttribute("data-live", "1");
    });
    es.onerror = function () {
      $("offline").hidden = false;
      // closed for good (the server restarted and does not know the ticket yet): load the page again
      if (es.readyState === 2) setTimeout(function () { location.reload(); }, 5000);
    };
  } else {
    setInterval(function () {
      var x = new XMLHttpRequest();
      x.open("GET", base + "/state");
      x.onload = function () { if (x.status === 404) location.reload(); else if (x.status === 200) render(JSON.parse(x.responseText).data); };
      x.send();
    }, 3000);
    document.body.setAttribute("data-live", "1");
  }
})();
