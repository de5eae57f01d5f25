// Dashboard behaviour (a static file: the CSP allows no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      var done = function () {
        var status = document.getElementById(button.getAttribute("data-copy-status"));
        if (status) { status.textContent = button.getAttribute("data-copied"); }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          input.select(); document.execCommand("copy"); done();
        });
      } else {
        input.select(); document.execCommand("copy"); done();
      }
    });
  });

  // A chart or table wider than the screen scrolls sideways (phones). Only something focusable can
  // be scrolled from the keyboard, so each box that overflows becomes a named, focusable region;
  // boxes that fit stay out of the tab order. Checked again on resize and when a <details> opens.
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".chart, .table-wrap"));
  var nameOf = function (box) {
    var svg = box.querySelector("svg[aria-label]");
    var details = box.closest("details");
    var section = box.closest("section");
    var heading = details ? details.querySelector("summary") : section && section.querySelector("h2");
    return svg ? svg.getAttribute("aria-label") : heading ? heading.textContent.trim() : "";
  };
  var mark = function () {
    boxes.forEach(function (box) {
      if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", nameOf(box));
        box.setAttribute("data-scroll-region", "");
      } else if (box.scrollWidth <= box.clientWidth && box.hasAttribute("data-scroll-region")) {
        // Only what this script marked: a template may make a box a region of its own.
        ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (a) { box.removeAttribute(a); });
      }
    });
  };
  mark();
  window.addEventListener("resize", mark);
  document.querySelectorAll("details").forEach(function (d) { d.addEventListener("toggle", mark); });
});
