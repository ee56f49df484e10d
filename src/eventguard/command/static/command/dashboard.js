/* The command dashboard: reads its live data every second and redraws what changed. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var url = root.dataset.live;
  var L = root.dataset;
  var seen = null;
  var funnelChart = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function link(href, text) { var a = el("a", "", text); a.href = href; return a; }

  function drawAlarms(alarms) {
    var list = document.getElementById("dash-alarms");
    var ids = {};
    list.textContent = "";
    if (!alarms.length) { list.appendChild(el("li", "muted", L.lNone)); }
    alarms.forEach(function (a) {
      ids[a.id] = true;
      var li = el("li", seen && !seen[a.id] ? "new" : "");
      li.dataset.alarm = a.id;
      var sev = { critical: "badge-red", major: "badge-orange", minor: "badge-yellow" }[a.severity] || "badge-blue";
      li.appendChild(el("span", "badge " + sev, a.severity_label));
      li.appendChild(link(a.url, a.rule + " · " + a.subject));
      li.appendChild(el("span", "muted", a.zone + " " + new Date(a.last_at).toLocaleTimeString() + " ×" + a.count));
      li.appendChild(el("span", "muted", a.state_label + (a.assignee ? " · " + a.assignee : "")));
      var d = link(a.dispatch_url, L.lDispatch); d.className = "btn btn-small"; li.appendChild(d);
      list.appendChild(li);
    });
    seen = ids;
  }

  function drawFigures(figures) {
    var box = document.getElementById("dash-figures");
    var lang = (document.documentElement.lang || "zh-hans").toLowerCase().indexOf("en") === 0 ? "en" : "zh-Hans";
    box.textContent = "";
    figures.forEach(function (f) {
      var a = link(f.url, "");
      a.appendChild(el("b", "", f.value === null ? "–" : String(f.value)));
      a.appendChild(el("span", "muted", f.label[lang]));
      box.appendChild(a);
    });
  }

  function drawHalls(halls) {
    var box = document.getElementById("dash-halls");
    box.textContent = "";
    halls.forEach(function (h) {
      var card = el("div", "dash-hall");
      card.appendChild(el("h3", "", h.name));
      var placed = h.equipment.every(function (e) { return e.x !== null && e.y !== null; });
      var plan = el("div", "dash-plan" + (placed ? "" : " flow"));
      h.equipment.forEach(function (e) {
        var dot = el("span", "eq " + e.status);
        dot.title = e.code + " · " + (L["l" + e.status.charAt(0).toUpperCase() + e.status.slice(1)] || e.status);
        dot.dataset.equipment = e.id;
        dot.dataset.status = e.status;
        if (placed) { dot.style.left = e.x + "%"; dot.style.top = e.y + "%"; }
        plan.appendChild(dot);
      });
      card.appendChild(plan);
      box.appendChild(card);
    });
  }

  function drawFunnel(funnel) {
    var node = document.getElementById("dash-funnel");
    if (!window.echarts || !node) return;
    funnelChart = funnelChart || window.echarts.init(node);
    funnelChart.setOption({
      tooltip: { trigger: "item" },
      series: [{
        type: "funnel", sort: "none", left: "5%", width: "90%", label: { formatter: "{b}: {c}" },
        data: funnel.map(function (s) { return { name: s.stage, value: s.value }; })
      }]
    });
  }

  function drawOffline(devices) {
    var list = document.getElementById("dash-offline");
    list.textContent = "";
    if (!devices.length) list.appendChild(el("li", "muted", L.lNooffline));
    devices.forEach(function (d) {
      list.appendChild(el("li", "", d.code + " · " + d.name + " · " + new Date(d.last_seen_at).toLocaleString()));
    });
  }

  var polls = 0;
  function refresh() {
    // The figures and the funnel change slowly: read them every tenth time.
    var full = polls++ % 10 === 0;
    fetch(url + (full ? "" : "?figures=0"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        document.getElementById("dash-status").textContent = "";
        document.getElementById("dash-at").textContent = new Date(data.at).toLocaleTimeString();
        document.getElementById("dash-work-open").textContent = data.work_orders.open;
        document.getElementById("dash-work-overdue").textContent = data.work_orders.overdue;
        drawAlarms(data.alarms);
        if (data.figures) drawFigures(data.figures);
        drawHalls(data.halls);
        if (data.funnel) drawFunnel(data.funnel);
        drawOffline(data.offline);
      })
      .catch(function () { document.getElementById("dash-status").textContent = L.lError; })
      .finally(function () { setTimeout(refresh, 1000); });
  }
  window.addEventListener("resize", function () { if (funnelChart) funnelChart.resize(); });
  refresh();
})();
