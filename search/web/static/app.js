// filmsearch: results update as you type, and completions for the box.
// The page works without this file: the form is a plain GET form.
// Film text is untrusted: it only ever reaches the page as textContent.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  if (!form || !input || !window.fetch) return;
  var list = document.getElementById("results");
  var status = document.getElementById("status");
  var pager = document.getElementById("pager");
  var datalist = document.getElementById("suggestions");
  var PAGE = 10, DELAY = 250;
  var timer = null, searching = null, suggesting = null, last = null;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function params(extra) {
    var out = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() !== "") out.set(key, String(value));
    });
    Object.keys(extra || {}).forEach(function (key) { out.set(key, extra[key]); });
    return out;
  }

  // The snippet with its highlights (offsets in characters, as Python counts them) in <mark>.
  function snippet(text, spans, cls) {
    var p = el("p", null, "snippet " + cls), chars = Array.from(text), at = 0;
    (spans || []).forEach(function (span) {
      if (span[0] > at) p.appendChild(document.createTextNode(chars.slice(at, span[0]).join("")));
      p.appendChild(el("mark", chars.slice(span[0], span[1]).join("")));
      at = span[1];
    });
    if (at < chars.length) p.appendChild(document.createTextNode(chars.slice(at).join("")));
    return p;
  }

  function hitItem(hit) {
    var li = el("li", null, "hit");
    li.value = hit.rank;
    li.dataset.id = hit.id;
    var h2 = el("h2"), a = el("a", hit.title);
    a.href = "/films/" + encodeURIComponent(hit.id);
    h2.appendChild(a);
    if (hit.year) { h2.appendChild(document.createTextNode(" ")); h2.appendChild(el("span", "(" + hit.year + ")", "year")); }
    li.appendChild(h2);
    var meta = [];
    if (hit.directors.length) meta.push(hit.directors.join(", "));
    if (hit.runtime) meta.push(hit.runtime + " min");
    if (hit.genres.length) meta.push(hit.genres.join(", "));
    if (meta.length) li.appendChild(el("p", meta.join(" · "), "meta"));
    ["synopsis", "wiki"].forEach(function (name) {
      var text = (hit.snippets || {})[name];
      if (text) li.appendChild(snippet(text, (hit.highlights || {})[name], name));
    });
    return li;
  }

  function say(nodes) {
    status.replaceChildren.apply(status, nodes);
  }

  function show(data, query) {
    var plural = data.total === 1 ? "" : "s", lines = [];
    if (data.corrected) {  // typo correction, when the library offers it
      var fix = el("p", "Did you mean ", "corrected"), link = el("a", data.corrected);
      link.href = "/?" + params({ q: data.corrected }).toString();
      fix.appendChild(link);
      fix.appendChild(document.createTextNode("?"));
      lines.push(fix);
    }
    if (!data.hits.length) {
      lines.push(el("p", "No films match."));
    } else {
      var line = el("p", data.total + " film" + plural + " match; showing 1–" + data.hits.length + ".");
      if (data.partial) line.appendChild(el("span", " (Partial: the search ran out of time or a wildcard matched too many words.)", "partial"));
      lines.push(line);
    }
    say(lines);
    list.replaceChildren.apply(list, data.hits.map(hitItem));
    var next = [];
    if (data.hits.length === PAGE && data.total > PAGE) {
      var more = el("a", "Next →");
      more.rel = "next";
      more.href = "/?" + params({ page: "2" }).toString();
      next.push(more);
    }
    pager.replaceChildren.apply(pager, next);
    history.replaceState(null, "", "/?" + query.toString());
  }

  function fail(data) {
    var where = data && data.position !== null && data.position !== undefined
      ? "Bad query at position " + data.position + ": " : "";
    say([el("p", where + ((data && data.error) || "The search failed."), "error")]);
    list.replaceChildren();
    pager.replaceChildren();
  }

  function search() {
    var query = params();
    query.delete("page");
    var key = query.toString();
    if (key === last) return;
    last = key;
    if (searching) searching.abort();
    if (!query.has("q") && Array.from(query.keys()).length === 0) {
      say([]); list.replaceChildren(); pager.replaceChildren();
      history.replaceState(null, "", "/");
      return;
    }
    searching = new AbortController();
    var api = new URLSearchParams(query);
    api.set("limit", String(PAGE));
    fetch("/api/search?" + api.toString(), { signal: searching.signal })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) { if (answer.ok) show(answer.data, query); else fail(answer.data); })
      .catch(function (error) { if (error.name !== "AbortError") fail(null); });
  }

  function suggest() {
    var text = input.value;
    if (!datalist || !/[^\W_]/.test(text)) return;
    if (suggesting) suggesting.abort();
    suggesting = new AbortController();
    fetch("/api/suggest?" + new URLSearchParams({ q: text, limit: "8" }).toString(), { signal: suggesting.signal })
      .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
      .then(function (data) {
        datalist.replaceChildren.apply(datalist, data.suggestions.map(function (item) {
          var option = document.createElement("option");
          option.value = item.kind === "title" ? item.text : '"' + item.text + '"';
          option.label = item.kind;
          return option;
        }));
      })
      .catch(function () { /* completions are a nicety */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(function () { search(); suggest(); }, DELAY);
  }

  form.addEventListener("input", later);
  // Empty filters stay out of the address when the form is submitted.
  form.addEventListener("submit", function () {
    Array.from(form.elements).forEach(function (field) {
      if (field.name && field.name !== "q" && field.value.trim() === "") field.disabled = true;
    });
  });
  window.addEventListener("pageshow", function () {
    Array.from(form.elements).forEach(function (field) { field.disabled = false; });
  });
  last = (function () { var q = params(); q.delete("page"); return q.toString(); })();
})();
