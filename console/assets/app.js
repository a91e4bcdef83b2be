// edgehook console: a few pages over the admin API. No framework, no
// build step; every value shown comes from the API and is put in the page
// as text (never as HTML).
(function () {
  "use strict";

  var TOKEN = "edgehook.token";
  var view = document.getElementById("view");
  var timers = [];
  var hint = null;

  // --- the API ----------------------------------------------------------

  function token() { return sessionStorage.getItem(TOKEN) || ""; }

  function api(path, opts) {
    opts = opts || {};
    var headers = { "Accept": "application/json" };
    if (token()) headers["Authorization"] = "Bearer " + token();
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: opts.method || "GET", headers: headers, credentials: "omit", cache: "no-store",
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body)
    }).then(function (r) {
      if (r.status === 401) {
        signOut(token() ? "The token was refused; sign in again." : "");
        throw new Error("unauthorized");
      }
      return r.text().then(function (t) {
        var v = null;
        try { v = t ? JSON.parse(t) : null; } catch (e) { v = null; }
        if (!r.ok) {
          var msg = v && v.error ? v.error.message : (t || r.statusText);
          var err = new Error(msg);
          err.status = r.status;
          throw err;
        }
        return v;
      });
    });
  }

  // --- the page ---------------------------------------------------------

  // h makes an element: h("td", {class: "id"}, "text", child, ...).
  function h(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }

  // add appends each child after e: elements, text, arrays of them.
  function add(e) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      if (Array.isArray(c)) { c.forEach(function (x) { add(e, x); }); continue; }
      e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
  }

  function clear() {
    timers.forEach(clearInterval);
    timers = [];
    view.textContent = "";
  }

  function every(ms, f) { f(); timers.push(setInterval(f, ms)); }

  function table(cols, rows, empty) {
    if (!rows.length) return h("p", { class: "muted" }, empty || "Nothing to show.");
    return h("div", { class: "scroll" }, h("table", null,
      h("thead", null, h("tr", null, cols.map(function (c) { return h("th", { scope: "col" }, c); }))),
      h("tbody", null, rows)));
  }

  function status(s) { return h("span", { class: "status " + s }, s.replace("_", " ")); }

  function when(t) {
    if (!t) return "";
    var d = new Date(t);
    return isNaN(d) ? t : d.toLocaleString();
  }

  function inSeconds(t) {
    if (!t) return "";
    var s = Math.round((new Date(t) - Date.now()) / 1000);
    return s <= 0 ? "now" : "in " + s + " s";
  }

  function failed(err) {
    if (err && err.message === "unauthorized") return;
    add(view, h("p", { class: "error", role: "alert" }, "Error: " + (err && err.message || err)));
  }

  function heading(text) {
    var e = h("h1", { tabindex: "-1" }, text);
    add(view, e);
    e.focus();
    return e;
  }

  function emptyState(what) {
    var box = h("div", { class: "empty", id: "empty-state" },
      h("p", null, what + " Send a signed test webhook to this gateway, then look again:"));
    var pre = h("pre", null, hint || "");
    add(box, pre);
    if (hint === null) {
      fetch("/console/hint", { cache: "no-store" }).then(function (r) { return r.text(); }).then(function (t) {
        hint = t || "make run   # prints a signed curl for the demo environment";
        pre.textContent = hint;
      });
    }
    return box;
  }

  // --- environments -----------------------------------------------------

  var envs = null;

  function environments() {
    if (envs) return Promise.resolve(envs);
    return api("/v1/environments?limit=1000").then(function (r) {
      envs = r.environments.map(function (e) { return e.name; });
      return envs;
    });
  }

  function envPicker(id, current, onchange) {
    var sel = h("select", { id: id, onchange: onchange });
    (envs || []).forEach(function (n) { add(sel, h("option", { value: n, selected: n === current }, n)); });
    return h("div", null, h("label", { for: id }, "Environment"), sel);
  }

  function field(id, label, value, placeholder) {
    return h("div", null, h("label", { for: id }, label),
      h("input", { id: id, value: value || "", placeholder: placeholder || "", autocomplete: "off" }));
  }

  function param(q, k) { return q.get(k) || ""; }

  // --- overview ---------------------------------------------------------

  var samples = [];

  function sum(m) { var t = 0; for (var k in m || {}) t += m[k]; return t; }

  // spark draws the last readings as bars, the newest on the right.
  function spark(values) {
    var NS = "http://www.w3.org/2000/svg", n = 40;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("viewBox", "0 0 " + n * 5 + " 40");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    values = values.slice(-n);
    var top = Math.max.apply(null, values.concat([1]));
    values.forEach(function (v, i) {
      var r = document.createElementNS(NS, "rect"), hgt = Math.max(v > 0 ? 1 : 0, v / top * 38);
      r.setAttribute("x", (n - values.length + i) * 5);
      r.setAttribute("y", 40 - hgt);
      r.setAttribute("width", 4);
      r.setAttribute("height", hgt);
      svg.appendChild(r);
    });
    svg.setAttribute("aria-label", "last " + values.length + " readings, highest " + (Math.round(top * 10) / 10));
    return svg;
  }

  function ms(seconds) {
    var v = seconds * 1000;
    return (v < 10 ? v.toFixed(1) : v.toFixed(0)) + " ms";
  }

  function counts(m) {
    var keys = Object.keys(m || {}).sort();
    if (!keys.length) return h("p", { class: "muted" }, "none yet");
    return h("dl", { class: "kv" }, keys.map(function (k) { return [h("dt", null, k.replace("_", " ")), h("dd", null, Math.round(m[k]))]; }));
  }

  function rate(key) {
    var out = [];
    for (var i = 1; i < samples.length; i++) {
      var dt = (new Date(samples[i].time) - new Date(samples[i - 1].time)) / 1000;
      out.push(dt > 0 ? Math.max(0, sum(samples[i][key]) - sum(samples[i - 1][key])) / dt : 0);
    }
    return out;
  }

  function overview() {
    heading("Overview");
    var body = h("div", { id: "overview" });
    add(view, body);
    every(3000, function () {
      api("/v1/stats").then(function (s) {
        samples.push(s);
        if (samples.length > 60) samples.shift();
        var ing = rate("ingress"), del = rate("deliveries");
        body.textContent = "";
        add(body, [h("div", { class: "cards" },
          h("div", { class: "card" }, h("h2", null, "Ingress, requests/s"), h("div", { class: "big" }, (ing[ing.length - 1] || 0).toFixed(1)), spark(ing.length ? ing : [0])),
          h("div", { class: "card" }, h("h2", null, "Deliveries, outcomes/s"), h("div", { class: "big" }, (del[del.length - 1] || 0).toFixed(1)), spark(del.length ? del : [0])),
          h("div", { class: "card" }, h("h2", null, "Spool pending"), h("div", { class: "big", id: "spool-pending" }, Math.round(s.spool_pending || 0)),
            spark(samples.map(function (x) { return x.spool_pending || 0; }))),
          h("div", { class: "card" }, h("h2", null, "Delivery workers"), h("div", { class: "big" }, Math.round(s.pool_running || 0) + " / " + Math.round(s.pool_capacity || 0)),
            h("p", { class: "muted" }, s.etcd_up === 0 ? "etcd unreachable: serving cached configuration" : "etcd reachable"))),
          h("div", { class: "cards" },
            h("div", { class: "card" }, h("h2", null, "Ingress by outcome (since start)"), counts(s.ingress)),
            h("div", { class: "card" }, h("h2", null, "Deliveries by outcome (since start)"), counts(s.deliveries)),
            h("div", { class: "card" }, h("h2", null, "Destinations by circuit"), counts(s.destinations)),
            h("div", { class: "card" }, h("h2", null, "Events routed"), counts(s.routed)))]);
        if (sum(s.ingress) === 0) add(body, emptyState("No webhook has reached this instance yet."));
      }).catch(failed);
    });
  }

  // --- deliveries -------------------------------------------------------

  function deliveries(q) {
    heading("Deliveries");
    environments().then(function (list) {
      if (!list.length) { add(view, emptyState("There is no environment yet.")); return; }
      var env = param(q, "env") || list[0], st = param(q, "status") || "dead";
      var form = h("form", { class: "bar", id: "delivery-filter", onsubmit: function (e) {
        e.preventDefault();
        var p = new URLSearchParams();
        ["env", "status", "integration", "connection_id"].forEach(function (k) {
          var v = form.querySelector("#f-" + k).value;
          if (v) p.set(k, v);
        });
        location.hash = "#/deliveries?" + p.toString();
      } },
        envPicker("f-env", env),
        h("div", null, h("label", { for: "f-status" }, "Status"), h("select", { id: "f-status" },
          [["dead", "Dead letters"], ["pending", "Pending"], ["delivered", "Recently delivered"]].map(function (o) {
            return h("option", { value: o[0], selected: o[0] === st }, o[1]);
          }))),
        field("f-integration", "Integration", param(q, "integration")),
        field("f-connection_id", "Connection", param(q, "connection_id")),
        h("button", { type: "submit" }, "Show"));
      add(view, form);
      var out = h("div", { id: "delivery-list" });
      add(view, out);
      var p = new URLSearchParams({ status: st, limit: "100" });
      if (param(q, "integration")) p.set("integration", param(q, "integration"));
      if (param(q, "connection_id")) p.set("connection_id", param(q, "connection_id"));
      if (param(q, "after")) p.set("after", param(q, "after"));
      api("/v1/environments/" + encodeURIComponent(env) + "/deliveries?" + p).then(function (r) {
        var dead = st === "dead", picked = {};
        var bulk = h("button", { type: "button", id: "retry-selected", disabled: true }, "Retry selected");
        var confirmBox = h("div");
        function count() { return Object.keys(picked).filter(function (k) { return picked[k]; }).length; }
        function refresh() { bulk.disabled = count() === 0; bulk.textContent = "Retry selected (" + count() + ")"; }
        bulk.addEventListener("click", function () {
          var ids = Object.keys(picked).filter(function (k) { return picked[k]; });
          confirmBox.textContent = "";
          add(confirmBox, h("div", { class: "confirm", role: "alertdialog", "aria-labelledby": "confirm-text" },
            h("p", { id: "confirm-text" }, "Retry " + ids.length + " dead letter" + (ids.length === 1 ? "" : "s") + " now? Each gets a fresh retry schedule."),
            h("div", { class: "bar" },
              h("button", { type: "button", id: "confirm-retry", onclick: function () {
                api("/v1/environments/" + encodeURIComponent(env) + "/deliveries/retry", { method: "POST", body: { ids: ids } }).then(function (res) {
                  var ok = res.results.filter(function (x) { return x.status === "pending"; }).length;
                  confirmBox.textContent = "";
                  add(confirmBox, h("p", { class: "notice", role: "status" }, ok + " of " + ids.length + " retried."));
                }).catch(failed);
              } }, "Retry " + ids.length),
              h("button", { type: "button", class: "secondary", onclick: function () { confirmBox.textContent = ""; bulk.focus(); } }, "Cancel"))));
          confirmBox.querySelector("#confirm-retry").focus();
        });
        var rows = r.deliveries.map(function (d) {
          var pick = dead ? h("td", null, h("input", { type: "checkbox", "aria-label": "select " + d.id, onchange: function (e) { picked[d.id] = e.target.checked; refresh(); } })) : null;
          return h("tr", null, pick,
            h("td", { class: "id" }, h("a", { href: "#/delivery?env=" + encodeURIComponent(env) + "&id=" + encodeURIComponent(d.id) }, d.id)),
            h("td", null, status(d.status)), h("td", null, d.integration), h("td", null, d.connection_id === null ? "(unmatched)" : d.connection_id),
            h("td", null, d.kind), h("td", null, d.attempts), h("td", null, d.last_error || ""),
            h("td", null, d.next_attempt ? inSeconds(d.next_attempt) : when(d.last_attempt)));
        });
        var cols = (dead ? [""] : []).concat(["Delivery", "Status", "Integration", "Connection", "Kind", "Attempts", "Last error", dead ? "Last attempt" : "Next attempt / last"]);
        if (dead && rows.length) add(out, h("div", { class: "bar" }, bulk), confirmBox);
        add(out, rows.length ? table(cols, rows) : emptyState("No " + (st === "dead" ? "dead letters" : st + " deliveries") + " here."));
        if (r.next_after) {
          p.set("after", r.next_after);
          p.set("env", env);
          add(out, h("p", null, h("a", { href: "#/deliveries?" + p }, "Next page")));
        }
      }).catch(failed);
    }).catch(failed);
  }

  function deliveryDetail(q) {
    var env = param(q, "env"), id = param(q, "id");
    heading("Delivery " + id);
    var out = h("div", { id: "delivery-detail" });
    add(view, out);
    var last = "";
    every(2000, function () {
      api("/v1/environments/" + encodeURIComponent(env) + "/deliveries/" + encodeURIComponent(id)).then(function (d) {
        var key = JSON.stringify(d);
        if (key === last) return;
        last = key;
        out.textContent = "";
        add(out, h("dl", { class: "kv" },
          h("dt", null, "Status"), h("dd", { id: "detail-status" }, status(d.status), d.reason ? " — " + d.reason : ""),
          h("dt", null, "Event"), h("dd", { class: "id" }, h("a", { href: "#/find?env=" + encodeURIComponent(env) + "&by=event&q=" + encodeURIComponent(d.event_id) }, d.event_id)),
          h("dt", null, "Kind"), h("dd", null, d.kind + (d.sync_name ? " (" + d.sync_name + ")" : "")),
          h("dt", null, "Integration"), h("dd", null, d.integration),
          h("dt", null, "Connection"), h("dd", null, d.connection_id === null ? "(unmatched)" : d.connection_id),
          h("dt", null, "URL"), h("dd", null, d.url),
          h("dt", null, "Created"), h("dd", null, when(d.created)),
          d.next_attempt ? [h("dt", null, "Next attempt"), h("dd", null, when(d.next_attempt) + " (" + inSeconds(d.next_attempt) + ")")] : null));
        if (d.status === "dead" || d.status === "gone") {
          add(out, h("button", { type: "button", id: "retry", onclick: function (e) {
            e.target.disabled = true;
            api("/v1/environments/" + encodeURIComponent(env) + "/deliveries/" + encodeURIComponent(id) + "/retry", { method: "POST" })
              .then(function () { last = ""; }).catch(failed);
          } }, "Retry now"));
        }
        add(out, h("h2", null, "Attempts"));
        add(out, table(["#", "At", "Status", "Error", "Duration"], (d.attempts_history || []).slice().reverse().map(function (a) {
          return h("tr", { class: "attempt" }, h("td", null, a.number), h("td", null, when(a.at)), h("td", null, a.status || ""),
            h("td", null, a.error || ""), h("td", null, ms(a.duration_seconds)));
        }), "No attempt yet."));
      }).catch(function (err) { out.textContent = ""; failed(err); });
    });
  }

  // --- destinations -----------------------------------------------------

  function destinations() {
    heading("Destinations");
    var out = h("div", { id: "destinations" });
    add(view, out);
    every(3000, function () {
      api("/v1/destinations").then(function (r) {
        out.textContent = "";
        add(out, r.destinations.length ? table(["Destination", "Circuit", "Pending", "In flight", "Limit", "Latency", "Last error", "Next probe"],
          r.destinations.map(function (d) {
            return h("tr", null, h("td", { class: "id" }, d.destination), h("td", null, status(d.state)), h("td", null, d.pending),
              h("td", null, d.in_flight), h("td", null, d.limit + (d.slow ? " (slow)" : "")), h("td", null, ms(d.latency_seconds)),
              h("td", null, d.last_error || ""), h("td", null, d.next_probe ? inSeconds(d.next_probe) : ""));
          })) : emptyState("No destination has work on this instance."));
      }).catch(failed);
    });
  }

  // --- configuration ----------------------------------------------------

  function jsonBlock(v) {
    var c = {};
    for (var k in v) if (k !== "name") c[k] = v[k];
    return h("pre", null, JSON.stringify(c, null, 2));
  }

  function config(q) {
    heading("Configuration");
    environments().then(function (list) {
      if (!list.length) { add(view, emptyState("There is no environment yet.")); return; }
      var env = param(q, "env") || list[0];
      add(view, h("div", { class: "bar" }, envPicker("c-env", env, function (e) { location.hash = "#/config?env=" + encodeURIComponent(e.target.value); })));
      var out = h("div", { id: "config" });
      add(view, out);
      var base = "/v1/environments/" + encodeURIComponent(env);
      Promise.all([api(base), api(base + "/integrations?limit=1000")]).then(function (r) {
        add(out, h("h2", null, "Environment " + env), jsonBlock(r[0]));
        r[1].integrations.forEach(function (ig) {
          var sec = h("section", { class: "card" }, h("h2", null, "Integration " + ig.name + " (" + (ig.provider || "?") + ")"), jsonBlock(ig));
          add(out, sec);
          var ib = base + "/integrations/" + encodeURIComponent(ig.name);
          api(ib + "/connections?limit=100").then(function (cr) {
            add(sec, table(["Connection", "Status", "Config", "Lifecycle hooks"], cr.connections.map(function (c) {
              var cp = ib + "/connections/" + encodeURIComponent(c.connection_id);
              var hooksCell = h("td", { class: "hooks" }, "…");
              // A list shows no hook status; a GET of the connection does.
              api(cp).then(function (full) {
                hooksCell.textContent = "";
                var names = Object.keys(full.hooks || {});
                add(hooksCell, names.length ? names.map(function (n) {
                  var hs = full.hooks[n];
                  return h("div", null, n + ": ", status(hs.status || "?"), hs.attempts ? " after " + hs.attempts + (hs.attempts === 1 ? " attempt" : " attempts") : "",
                    hs.last_error ? " — " + hs.last_error : "",
                    hs.next_attempt_at && hs.status === "pending" ? " — next attempt " + inSeconds(hs.next_attempt_at) : "",
                    hs.status === "failed" || (hs.status === "pending" && hs.attempts) ? h("button", { type: "button", class: "secondary hook-retry", onclick: function (e) {
                      e.target.disabled = true;
                      api(cp + "/hooks/" + encodeURIComponent(n) + "/retry", { method: "POST" })
                        .then(function () { e.target.textContent = "retrying…"; setTimeout(route, 1500); }).catch(failed);
                    } }, "Retry hook now") : null);
                }) : "none");
              }).catch(function (err) { hooksCell.textContent = err.message; });
              return h("tr", null, h("td", { class: "id" }, c.connection_id), h("td", null, c.status || "active"),
                h("td", null, h("pre", null, JSON.stringify({ config: c.config, credentials: c.credentials }, null, 1))), hooksCell);
            }), "No connection yet."));
            if (cr.next_after) add(sec, h("p", { class: "muted" }, "The first 100 connections are shown; the admin API lists the rest."));
          }).catch(failed);
        });
      }).catch(failed);
    }).catch(failed);
  }

  // --- find -------------------------------------------------------------

  function find(q) {
    heading("Find");
    environments().then(function (list) {
      if (!list.length) { add(view, emptyState("There is no environment yet.")); return; }
      var env = param(q, "env") || list[0], by = param(q, "by") || "provider", text = param(q, "q");
      var form = h("form", { class: "bar", id: "find-form", onsubmit: function (e) {
        e.preventDefault();
        var p = new URLSearchParams({ env: form.querySelector("#q-env").value, by: form.querySelector("#q-by").value, q: form.querySelector("#q-text").value.trim() });
        var ig = form.querySelector("#q-integration").value.trim();
        if (ig) p.set("integration", ig);
        location.hash = "#/find?" + p;
      } },
        envPicker("q-env", env),
        h("div", null, h("label", { for: "q-by" }, "Find by"), h("select", { id: "q-by" },
          [["provider", "Provider delivery id (X-GitHub-Delivery, …)"], ["event", "Event id"], ["delivery", "Delivery id (webhook-id)"]].map(function (o) {
            return h("option", { value: o[0], selected: o[0] === by }, o[1]);
          }))),
        field("q-integration", "Integration (for a provider id)", param(q, "integration"), "github"),
        field("q-text", "Id", text),
        h("button", { type: "submit" }, "Find"));
      add(view, form);
      var out = h("div", { id: "find-result" });
      add(view, out);
      if (!text) return;
      var base = "/v1/environments/" + encodeURIComponent(env), call;
      if (by === "delivery") {
        call = api(base + "/deliveries/" + encodeURIComponent(text)).then(function (d) { return { event_id: d.event_id, deliveries: [d] }; });
      } else if (by === "event") {
        call = api(base + "/events/" + encodeURIComponent(text));
      } else {
        var ig = param(q, "integration");
        if (!ig) { add(out, h("p", { class: "error", role: "alert" }, "Name the integration the provider id belongs to.")); return; }
        call = api(base + "/integrations/" + encodeURIComponent(ig) + "/events?provider_delivery_id=" + encodeURIComponent(text));
      }
      call.then(function (r) {
        add(out, h("h2", null, "Event " + r.event_id));
        add(out, table(["Delivery", "Status", "Connection", "URL", "Attempts", "Last"], r.deliveries.map(function (d) {
          return h("tr", null, h("td", { class: "id" }, h("a", { href: "#/delivery?env=" + encodeURIComponent(env) + "&id=" + encodeURIComponent(d.id) }, d.id)),
            h("td", null, status(d.status)), h("td", null, d.connection_id === null ? "(unmatched)" : d.connection_id), h("td", null, d.url),
            h("td", null, d.attempts), h("td", null, when(d.last_attempt)));
        }), "The event was accepted; its deliveries were delivered longer ago than this instance remembers."));
      }).catch(function (err) {
        if (err.status === 404) add(out, h("p", { role: "status" }, "Nothing found: " + err.message));
        else failed(err);
      });
    }).catch(failed);
  }

  // --- routing and sign-in ----------------------------------------------

  var pages = { overview: overview, deliveries: deliveries, delivery: deliveryDetail, destinations: destinations, config: config, find: find };

  function route() {
    var hash = location.hash.replace(/^#\/?/, "");
    var i = hash.indexOf("?");
    var name = (i < 0 ? hash : hash.slice(0, i)) || "overview";
    var q = new URLSearchParams(i < 0 ? "" : hash.slice(i + 1));
    if (!pages[name]) name = "overview";
    clear();
    document.querySelectorAll("#nav a").forEach(function (a) {
      if (a.dataset.page === name || (name === "delivery" && a.dataset.page === "deliveries")) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    pages[name](q);
  }

  function show(signedIn) {
    document.getElementById("signin").hidden = signedIn;
    document.getElementById("nav").hidden = !signedIn;
    view.hidden = !signedIn;
    if (signedIn) route();
    else { clear(); document.getElementById("token").focus(); }
  }

  function signOut(msg) {
    sessionStorage.removeItem(TOKEN);
    envs = null;
    samples = [];
    document.getElementById("signin-error").textContent = msg || "";
    show(false);
  }

  document.getElementById("signin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = document.getElementById("token");
    sessionStorage.setItem(TOKEN, input.value);
    input.value = "";
    document.getElementById("signin-error").textContent = "";
    api("/v1/stats").then(function () { show(true); }).catch(function (err) {
      if (err.message !== "unauthorized") document.getElementById("signin-error").textContent = err.message;
    });
  });
  document.getElementById("signout").addEventListener("click", function () { signOut(""); });
  window.addEventListener("hashchange", function () { if (!view.hidden) route(); });

  // A gateway run without an admin token answers without one.
  api("/v1/stats").then(function () { show(true); }).catch(function (err) {
    if (err.message !== "unauthorized") { show(true); }
  });
})();
