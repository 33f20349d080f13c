// dcops web console: keep the live part of a page current, and say so when it cannot.
// The server holds each request until it has something newer than the version the page
// shows (or for a while), so the page asks again at once and each change arrives as soon as
// the server has it; after a failure it waits a little before asking again.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const lost = document.getElementById("lost");
  const retry = Math.max(1, Number(live.dataset.poll || 2)) * 1000;
  const patience = 60000;  // longer than the server ever holds a request
  let leaving = false;  // a form was sent (log out, acknowledge): the page is being replaced
  document.addEventListener("submit", function () { leaving = true; });
  function version() {
    const state = live.querySelector(".live-state");
    return state ? state.dataset.version : "";
  }
  async function refresh() {
    const stop = new AbortController();
    const timer = setTimeout(function () { stop.abort(); }, patience);
    try {
      const shown = version();
      const url = live.dataset.src + (shown ? "&after=" + encodeURIComponent(shown) : "");
      const reply = await fetch(url, { credentials: "same-origin", cache: "no-store", signal: stop.signal });
      if (leaving) return;
      if (reply.redirected || reply.status === 401) { window.location.reload(); return; }
      if (!reply.ok) throw new Error("HTTP " + reply.status);
      const html = await reply.text();
      const at = document.activeElement;
      const focused = at && live.contains(at) && at.closest("form, details");
      if (!focused) live.innerHTML = html;  // never pull a form away from someone typing in it
      const state = live.querySelector(".live-state");
      const clock = document.getElementById("clock");
      if (state && clock) clock.textContent = state.dataset.updated;
      if (lost) lost.hidden = true;
      setTimeout(refresh, focused ? retry : 0);
    } catch (err) {
      if (leaving) return;
      if (lost) lost.hidden = false;
      setTimeout(refresh, retry);
    } finally {
      clearTimeout(timer);
    }
  }
  setTimeout(refresh, 0);
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
