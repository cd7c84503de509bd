// ferry's payment page: keeps the status current without a reload, and
// counts the quote down. Without JavaScript the page refreshes itself.
"use strict";
(function () {
  var main = document.getElementById("invoice");
  if (!main) return;
  var statusURL = main.getAttribute("data-status-url");
  var final = main.getAttribute("data-final") === "true";

  function text(id, s) {
    var el = document.getElementById(id);
    if (el && s !== undefined) el.textContent = s;
  }

  function show(st) {
    var el = document.getElementById("status");
    el.textContent = st.status_text;
    el.className = "status status-" + st.status;
    text("seen", st.seen);
    text("confirmed", st.confirmed);
    if (st.seen && st.seen !== "0") {
      var rec = document.getElementById("received");
      if (rec) rec.classList.remove("hidden");
    }
    if (st.paid) {
      var ret = document.getElementById("return");
      if (ret) ret.classList.remove("hidden");
    }
    if (st.final) {
      var pay = document.getElementById("pay");
      if (pay) pay.classList.add("hidden");
    }
  }

  // The status is polled every 3 seconds, within the server's page rate
  // limit; past it (429), the next poll waits as Retry-After says.
  var polls = 0;
  function poll() {
    if (final || polls++ > 2000) return; // stop after a few hours
    var wait = 3000;
    fetch(statusURL, { cache: "no-store" })
      .then(function (r) {
        if (r.status === 429) {
          var after = parseInt(r.headers.get("Retry-After"), 10);
          wait = (after > 0 ? Math.min(after, 300) : 60) * 1000;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (st) {
        if (!st) return;
        if (st.reload) { location.reload(); return; }
        show(st);
        final = st.final;
      })
      .catch(function () {})
      .finally(function () { if (!final) setTimeout(poll, wait); });
  }

  var expires = document.getElementById("quote-expires");
  function countdown() {
    if (!expires) return;
    var left = Math.floor((Date.parse(expires.getAttribute("datetime")) - Date.now()) / 1000);
    if (left <= 0) { text("quote-left", ""); return; }
    var m = Math.floor(left / 60), s = left % 60;
    text("quote-left", " (" + m + ":" + (s < 10 ? "0" : "") + s + " left)");
    setTimeout(countdown, 1000);
  }

  countdown();
  setTimeout(poll, 3000);
})();
