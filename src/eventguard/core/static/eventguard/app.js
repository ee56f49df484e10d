/* EventGuard: the little behaviour the pages need, without a framework. */
(function () {
  "use strict";
  var toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // Close the event switcher when clicking elsewhere.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.event-switch[open]").forEach(function (d) {
      if (!d.contains(e.target)) { d.removeAttribute("open"); }
    });
  });
  // Buttons that need a confirmation carry data-confirm="question".
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var button = e.submitter || form.querySelector("[data-confirm]");
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { e.preventDefault(); }
  });
  // Filter bars: a changed select submits at once.
  document.querySelectorAll("form.filter-bar select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
})();
