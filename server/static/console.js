// dcops web console: refresh the live part of a page every few seconds, and say so when it cannot.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const lost = document.getElementById("lost");
  const every = Math.max(1, Number(live.dataset.poll || 2)) * 1000;
  async function refresh() {
    try {
      const reply = await fetch(live.dataset.src, { credentials: "same-origin", cache: "no-store" });
      if (reply.redirected || reply.status === 401) { window.location.reload(); return; }
      if (!reply.ok) throw new Error("HTTP " + reply.status);
      const html = await reply.text();
      const focused = document.activeElement && live.contains(document.activeElement);
      if (!focused) live.innerHTML = html;  // never pull a form away from someone typing in it
      const state = live.querySelector(".live-state");
      const clock = document.getElementById("clock");
      if (state && clock) clock.textContent = state.dataset.updated;
      if (lost) lost.hidden = true;
    } catch (err) {
      if (lost) lost.hidden = false;
    }
  }
  setInterval(refresh, every);
})();

// The request form: check each field with the server's validators as it is filled.
(function () {
  const form = document.getElementById("request-form");
  if (!form) return;
  let asked = 0;
  async function check() {
    const mine = ++asked;
    const body = new FormData(form);
    body.delete("step");
    try {
      const reply = await fetch("/console/requests/check", { method: "POST", body: body, credentials: "same-origin" });
      if (!reply.ok) return;
      const found = await reply.json();
      if (mine !== asked) return;  // a later check is on its way: show only the latest
      for (const span of form.querySelectorAll(".field-error")) {
        const name = span.id.slice(2);
        const touched = form.elements[name] && form.elements[name].dataset.touched;
        span.textContent = touched ? (found.fields[name] || "") : "";
      }
    } catch (err) { /* the submit button still validates on the server */ }
  }
  for (const span of form.querySelectorAll(".field-error")) {
    const input = form.elements[span.id.slice(2)];
    if (span.textContent.trim() && input) input.dataset.touched = "1";  // errors the server showed
  }
  form.addEventListener("change", function (event) {
    if (event.target.name) event.target.dataset.touched = "1";
    check();
  });
})();
