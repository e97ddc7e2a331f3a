// portaudit HTML report: sorting and filtering of the tables. The page is
// complete without this script; it only reorders and hides rows. The view
// of the findings lives in the URL fragment, so that it can be shared:
//   #filter=udp%20console&kind=wrong-direction&severity=error&sort=bytes&desc
// plus standing= (new, unchanged, waived, active: against --baseline and
// the deployment's waivers), profile=, src=, dst= (role ids) and rule=
// (comma-separated rule ids),
// which the finding counts of the role matrix link to.
(function () {
  "use strict";
  var KEYS = ["filter", "kind", "severity", "standing", "profile", "src", "dst", "rule", "sort"];
  var findings = document.getElementById("findings");
  var text = document.getElementById("filter-text");
  var kind = document.getElementById("filter-kind");
  var severity = document.getElementById("filter-severity");
  var standing = document.getElementById("filter-standing");
  var shown = document.getElementById("findings-shown");
  var scope = document.getElementById("findings-scope");
  var state = parse(location.hash);

  // A fragment that names an element (#matrix, #decode) is a place on the
  // page, not a view of the findings.
  function names(hash) {
    var id = decode(hash.replace(/^#/, ""));
    return id !== "" && document.getElementById(id) !== null;
  }

  document.documentElement.className += " js";

  function blank() {
    var s = { desc: false };
    KEYS.forEach(function (k) { s[k] = ""; });
    return s;
  }

  function decode(x) {
    try { return decodeURIComponent(x.replace(/\+/g, " ")); } catch (e) { return x; }
  }

  function parse(hash) {
    var s = blank();
    hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) { return; }
      var i = part.indexOf("=");
      var k = decode(i < 0 ? part : part.slice(0, i));
      var v = i < 0 ? "" : decode(part.slice(i + 1));
      if (k === "desc") { s.desc = v !== "0" && v !== "false"; }
      else if (k === "asc") { s.desc = false; }
      else if (KEYS.indexOf(k) >= 0) { s[k] = v; }
    });
    return s;
  }

  function format(s) {
    var parts = [];
    KEYS.forEach(function (k) {
      if (s[k]) { parts.push(k + "=" + encodeURIComponent(s[k])); }
    });
    if (s.sort && s.desc) { parts.push("desc"); }
    return parts.length ? "#" + parts.join("&") : "";
  }

  function remember() {
    var url = location.href.split("#")[0] + format(state);
    try { history.replaceState(null, "", url); } catch (e) { /* file: URLs in some browsers */ }
  }

  // A cell's sort value: data-v when the server gave one, else its text.
  function value(row, i, numeric) {
    var cell = row.cells[i];
    if (!cell) { return numeric ? -Infinity : ""; }
    var v = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    if (!numeric) { return v; }
    var n = parseFloat(v);
    return isNaN(n) ? -Infinity : n;
  }

  // Sorts `table` by the column whose th has data-key `key`; the server's
  // order breaks ties and comes back when `key` is empty.
  function sort(table, key, desc) {
    var ths = table.tHead.rows[0].cells;
    var col = -1;
    for (var i = 0; i < ths.length; i++) {
      if (ths[i].getAttribute("data-key") === key) { col = i; }
      ths[i].removeAttribute("aria-sort");
    }
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, n) { if (r.portauditOrder === undefined) { r.portauditOrder = n; } });
    var numeric = col >= 0 && ths[col].getAttribute("data-type") === "num";
    rows.sort(function (a, b) {
      var c = 0;
      if (col >= 0) {
        var x = value(a, col, numeric), y = value(b, col, numeric);
        c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : String(x).localeCompare(String(y), undefined, { numeric: true });
        if (desc) { c = -c; }
      }
      return c || a.portauditOrder - b.portauditOrder;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    if (col >= 0) { ths[col].setAttribute("aria-sort", desc ? "descending" : "ascending"); }
  }

  function listed(list, v) {
    return (list || "").split(";").indexOf(v) >= 0;
  }

  function matches(row, s, words) {
    var d = row.dataset;
    if (s.kind && d.kind !== s.kind) { return false; }
    if (s.severity && d.severity !== s.severity) { return false; }
    if (s.standing && !listed(d.standing, s.standing)) { return false; }
    if (s.profile && !listed(d.profile, s.profile)) { return false; }
    if (s.src && !listed(d.srcRole, s.src)) { return false; }
    if (s.dst && !listed(d.dstRole, s.dst)) { return false; }
    if (s.rule && s.rule.split(",").indexOf(d.rule) < 0) { return false; }
    var t = row.textContent.toLowerCase();
    return words.every(function (w) { return t.indexOf(w) >= 0; });
  }

  function filter() {
    var words = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = findings.tBodies[0].rows, n = 0;
    for (var i = 0; i < rows.length; i++) {
      var keep = matches(rows[i], state, words);
      rows[i].hidden = !keep;
      n += keep ? 1 : 0;
    }
    if (shown) { shown.textContent = n + " of " + rows.length + " rows shown"; }
    if (scope) {
      var parts = [];
      if (state.profile) { parts.push("profile " + state.profile); }
      if (state.src) { parts.push("from " + state.src); }
      if (state.dst) { parts.push("to " + state.dst); }
      if (state.rule) { parts.push("rule " + state.rule.split(",").join(" or ")); }
      scope.textContent = "";
      if (parts.length) {
        scope.appendChild(document.createTextNode("Only findings of " + parts.join(", ") + " (from the role matrix). "));
        var all = document.createElement("button");
        all.type = "button";
        all.textContent = "Show all";
        all.addEventListener("click", function () {
          state.profile = state.src = state.dst = state.rule = "";
          apply();
          remember();
        });
        scope.appendChild(all);
      }
    }
  }

  function apply() {
    if (!findings) { return; }
    if (text) { text.value = state.filter; }
    if (kind) { kind.value = state.kind; }
    if (severity) { severity.value = state.severity; }
    if (standing) { standing.value = state.standing; }
    sort(findings, state.sort, state.desc);
    filter();
  }

  function onInput() {
    state.filter = text ? text.value : "";
    state.kind = kind ? kind.value : "";
    state.severity = severity ? severity.value : "";
    state.standing = standing ? standing.value : "";
    filter();
    remember();
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var key = th.getAttribute("data-key");
      if (!key) { return; }
      th.tabIndex = 0;
      th.title = "Sort by " + key;
      var go = function () {
        var current = th.getAttribute("aria-sort");
        var desc = current ? current === "ascending" : th.getAttribute("data-type") === "num";
        if (table === findings) {
          state.sort = key;
          state.desc = desc;
          remember();
        }
        sort(table, key, desc);
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
      });
    });
  });

  if (findings) {
    [text, kind, severity, standing].forEach(function (el) {
      if (el) { el.addEventListener("input", onInput); }
    });
    var controls = document.getElementById("findings-controls");
    if (controls) { controls.hidden = false; }
    window.addEventListener("hashchange", function () {
      if (names(location.hash)) { return; }
      state = parse(location.hash);
      apply();
      findings.scrollIntoView();
    });
    apply();
  }
}());
