/* The command dashboard: reads its live data every second and redraws only what changed.
   The halls' layout is read once and again only when its version changes; each poll brings
   the statuses of the units that are not normal, and the dots are re-coloured in place. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var url = root.dataset.live;
  var L = root.dataset;
  var seen = null;
  var funnelChart = null;
  var layoutVersion = null; // the version of the layout drawn, null before the first
  var dots = {}; // equipment id -> its dot
  var marked = {}; // equipment id -> status, for the dots that are not normal
  var drawn = {}; // part -> the data it was last drawn from

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function link(href, text) { var a = el("a", "", text); a.href = href; return a; }
  function changed(part, value) {
    var key = JSON.stringify(value);
    if (drawn[part] === key) return false;
    drawn[part] = key;
    return true;
  }

  function drawAlarms(alarms, total, allUrl) {
    var more = document.getElementById("dash-alarms-more");
    if (total > alarms.length) {
      more.textContent = "";
      more.appendChild(link(allUrl, L.lMore.replace("{shown}", alarms.length).replace("{total}", total)));
      more.hidden = false;
    } else {
      more.hidden = true;
    }
    if (!changed("alarms", alarms)) return;
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
    if (!changed("figures", figures)) return;
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

  function paint(dot, status) {
    dot.className = "eq " + status;
    dot.dataset.status = status;
    dot.title = dot.dataset.code + " · " + (L["l" + status.charAt(0).toUpperCase() + status.slice(1)] || status);
  }

  // The halls and their dots, all normal; the statuses are painted on them afterwards.
  function drawLayout(halls) {
    var box = document.getElementById("dash-halls");
    box.textContent = "";
    dots = {};
    marked = {};
    halls.forEach(function (h) {
      var card = el("div", "dash-hall");
      card.appendChild(el("h3", "", h.name));
      var placed = h.equipment.every(function (e) { return e.x !== null && e.y !== null; });
      var plan = el("div", "dash-plan" + (placed ? "" : " flow"));
      h.equipment.forEach(function (e) {
        var dot = el("span");
        dot.dataset.equipment = e.id;
        dot.dataset.code = e.code;
        paint(dot, "normal");
        if (placed) { dot.style.left = e.x + "%"; dot.style.top = e.y + "%"; }
        dots[e.id] = dot;
        plan.appendChild(dot);
      });
      card.appendChild(plan);
      box.appendChild(card);
    });
  }

  // Only the dots whose status changed since the last poll are touched.
  function drawStatuses(statuses) {
    Object.keys(marked).forEach(function (id) {
      if (!statuses[id] && dots[id]) paint(dots[id], "normal");
    });
    Object.keys(statuses).forEach(function (id) {
      if (dots[id] && marked[id] !== statuses[id]) paint(dots[id], statuses[id]);
    });
    marked = statuses;
  }

  function drawFunnel(funnel) {
    var node = document.getElementById("dash-funnel");
    if (!window.echarts || !node || !changed("funnel", funnel)) return;
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
    if (!changed("offline", devices)) return;
    var list = document.getElementById("dash-offline");
    list.textContent = "";
    if (!devices.length) list.appendChild(el("li", "muted", L.lNooffline));
    devices.forEach(function (d) {
      list.appendChild(el("li", "", d.code + " · " + d.name + " · " + new Date(d.last_seen_at).toLocaleString()));
    });
  }

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node.textContent !== String(value)) node.textContent = value;
  }

  var polls = 0;
  var figuresDue = true; // asked for and not received yet (being computed, or not at hand)
  function refresh() {
    // The figures and the funnel change slowly: read them every tenth time, and on the next
    // poll again when an answer came without them. The layout comes with the answer only
    // when it is not the version drawn.
    var full = figuresDue || polls % 10 === 0;
    polls++;
    var query = "?layout=" + encodeURIComponent(layoutVersion || "1") + (full ? "" : "&figures=0");
    fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        setText("dash-status", "");
        setText("dash-at", new Date(data.at).toLocaleTimeString());
        setText("dash-work-open", data.work_orders.open);
        setText("dash-work-overdue", data.work_orders.overdue);
        drawAlarms(data.alarms, data.alarms_total, data.alarms_url);
        if (full) figuresDue = !data.figures;
        if (data.figures) drawFigures(data.figures);
        if (data.layout) {
          drawLayout(data.layout);
          layoutVersion = data.layout_version;
        }
        drawStatuses(data.statuses);
        if (data.funnel) drawFunnel(data.funnel);
        drawOffline(data.offline);
      })
      .catch(function () { setText("dash-status", L.lError); })
      .finally(function () { setTimeout(refresh, 1000); });
  }
  window.addEventListener("resize", function () { if (funnelChart) funnelChart.resize(); });
  refresh();
})();
