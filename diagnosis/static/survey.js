// Survey behaviour (a static file: the CSP allows no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The error summary (or the "could not save" notice) takes focus, so a screen reader reads it
  // first and a keyboard user starts from it. Its links move focus to the field itself (a plain
  // jump would only scroll there) and bring the question's label into view with it.
  var summary = document.getElementById("error-summary") || document.getElementById("save-failed");
  if (summary) {
    summary.focus();
    summary.querySelectorAll("a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) { return; }
        event.preventDefault();
        (field.closest(".question") || field).scrollIntoView();
        field.focus({ preventScroll: true });
      });
    });
  }

  // The reason checklist's "up to N" counter. The server checks the limit too; this only tells
  // the respondent at once, politely (the counter is a live region, so it is read out).
  document.querySelectorAll("fieldset.checklist[data-max]").forEach(function (box) {
    var max = parseInt(box.getAttribute("data-max"), 10);
    var counter = box.querySelector(".choice-counter");
    var inputs = Array.prototype.slice.call(box.querySelectorAll("input[type=checkbox]"));
    var update = function (changed) {
      if (changed && changed.checked) {
        // An exclusive option ("nothing in particular") and the others untick each other.
        inputs.forEach(function (other) {
          if (other !== changed && (changed.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive"))) {
            other.checked = false;
          }
        });
      }
      var n = inputs.filter(function (i) { return i.checked; }).length;
      var over = n > max;
      var text = over ? counter.getAttribute("data-too-many")
        : counter.getAttribute("data-template").replace("{n}", String(n));
      if (counter.textContent !== text) { counter.textContent = text; }  // read out only on a change
      counter.classList.toggle("over", over);
      inputs.forEach(function (i) { i.setAttribute("aria-invalid", over && i.checked ? "true" : "false"); });
    };
    inputs.forEach(function (input) {
      input.addEventListener("change", function () { update(input); });
    });
    update(null);
  });
});
