// The reason checklist's "up to N" counter (a static file: the CSP allows no inline script).
// The server checks the limit too; this only tells the respondent at once, politely.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
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
      counter.textContent = over ? counter.getAttribute("data-too-many")
        : counter.getAttribute("data-template").replace("{n}", String(n));
      counter.classList.toggle("over", over);
      inputs.forEach(function (i) { i.setAttribute("aria-invalid", over && i.checked ? "true" : "false"); });
    };
    inputs.forEach(function (input) {
      input.addEventListener("change", function () { update(input); });
    });
    update(null);
  });
});
