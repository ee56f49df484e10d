/* The in-app feed: new notifications arrive over server-sent events. */
(function () {
  "use strict";
  var list = document.getElementById("feed");
  if (!list || !window.EventSource) return;
  var source = new EventSource(list.dataset.stream + "?after=" + list.dataset.last);
  source.addEventListener("notification", function (e) {
    var data = JSON.parse(e.data);
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var li = document.createElement("li");
    var when = document.createElement("span");
    when.className = "muted nowrap";
    when.textContent = new Date(data.at).toLocaleTimeString() + " ";
    var a = document.createElement("a");
    a.href = data.url || "#";
    a.textContent = data.title;
    li.appendChild(when);
    li.appendChild(a);
    list.insertBefore(li, list.firstChild);
  });
})();
