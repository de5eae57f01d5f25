// Review queue keyboard: 1–4 choose a cause, Enter confirms the model's call, ← → move, U undoes.
// A static file: the CSP allows no inline script. Without JavaScript every control is a button.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("review-form");
  var undo = document.getElementById("undo-form");
  var busy = false;
  // A page restored from the back-forward cache takes keys again.
  window.addEventListener("pageshow", function () { busy = false; });
  var go = function (el) {
    if (!el || busy) { return; }
    busy = true;  // one decision per page: a held key never sends two
    el.click();
  };
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.metaKey || e.isComposing) { return; }
    var t = e.target;
    if (t && t.closest && t.closest("input, textarea, select, [contenteditable]")) { return; }
    var key = e.key;
    if (e.ctrlKey && key !== "z") { return; }
    if (/^[1-9]$/.test(key) && form) {
      var choice = form.querySelector('button[data-key="' + key + '"]');
      if (choice) { e.preventDefault(); go(choice); }
    } else if (key === "Enter" && form) {
      if (t && t.closest && t.closest("button, a")) { return; }  // the focused control acts
      var confirm = document.getElementById("review-confirm");
      if (confirm) { e.preventDefault(); go(confirm); }
    } else if (key === "ArrowRight" || key === "ArrowLeft") {
      var link = document.getElementById(key === "ArrowRight" ? "review-next" : "review-prev");
      if (link) { e.preventDefault(); busy = true; window.location.assign(link.href); }
    } else if ((key === "u" || key === "U" || (e.ctrlKey && key === "z")) && undo) {
      var button = undo.querySelector("button");
      if (button && !button.disabled) { e.preventDefault(); go(button); }
    }
  });
});
