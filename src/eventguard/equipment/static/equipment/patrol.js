/* The patrol checklist: show an item's finding fields only when it is answered "fault". */
(function () {
  "use strict";
  var form = document.getElementById("patrol-form");
  if (!form) { return; }
  function sync(item) {
    var checked = form.querySelector('input[data-item="' + item + '"]:checked');
    var box = form.querySelector('[data-finding="' + item + '"]');
    if (box) { box.hidden = !(checked && checked.value === "fault"); }
  }
  var items = {};
  form.querySelectorAll("input[data-item]").forEach(function (input) {
    items[input.getAttribute("data-item")] = true;
    input.addEventListener("change", function () { sync(input.getAttribute("data-item")); });
  });
  Object.keys(items).forEach(sync);
})();
