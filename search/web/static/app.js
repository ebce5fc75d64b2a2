// filmsearch: results update as you type, and completions for the box.
// The page works without this file: the form is a plain GET form, and every link
// (facets, pages, "search instead for") is a plain address.
// As you type, the server's own page for the search is fetched and its result parts
// (status, filters and facets, results, pages) take the place of these: the same
// escaped HTML as without JavaScript, parsed by DOMParser (which runs no script).
// Messages of this file's own reach the page only as textContent.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  if (!form || !input || !window.fetch || !window.DOMParser) return;
  var PARTS = ["status", "refine", "results", "pager"];
  var datalist = document.getElementById("suggestions");
  var DELAY = 250;
  var timer = null, searching = null, suggesting = null, last = null;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  // The search the form describes: blank fields and the default order left out.
  function params() {
    var out = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      value = String(value).trim();
      if (value !== "" && !(key === "sort" && value === "relevance")) out.append(key, value);
    });
    return out;
  }

  function replaceParts(doc) {
    PARTS.forEach(function (id) {
      var here = document.getElementById(id), there = doc.getElementById(id);
      if (!here) return;
      var nodes = there ? Array.from(there.childNodes).map(function (node) {
        return document.importNode(node, true);
      }) : [];
      here.replaceChildren.apply(here, nodes);
    });
  }

  function fail(message) {
    replaceParts(document.implementation.createHTMLDocument(""));
    document.getElementById("status").appendChild(el("p", message || "The search failed.", "error"));
  }

  function search() {
    var query = params(), key = query.toString();
    if (key === last) return;
    last = key;
    if (searching) searching.abort();
    var address = key ? "/?" + key : "/";
    if (!query.has("q") && Array.from(query.keys()).every(function (k) { return k === "sort" || k === "mode"; })) {
      replaceParts(document.implementation.createHTMLDocument(""));
      history.replaceState(null, "", address);
      return;
    }
    searching = new AbortController();
    fetch(address, { signal: searching.signal, headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        if (!doc.getElementById("status")) {  // an error page of its own (such as 503)
          var message = doc.querySelector(".error");
          fail(message ? message.textContent : null);
          return;
        }
        replaceParts(doc);
        document.title = doc.title;
        history.replaceState(null, "", address);
      })
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

  function later(event) {
    clearTimeout(timer);
    var typed = event && event.target === input;
    timer = setTimeout(function () { search(); if (typed) suggest(); }, DELAY);
  }

  form.addEventListener("input", later);
  // Empty filters and the default order stay out of the address when the form is submitted.
  form.addEventListener("submit", function () {
    // No search as you type may end after this: its history.replaceState would cancel
    // the page's navigation to the submitted search (Enter pressed right after typing).
    clearTimeout(timer);
    if (searching) searching.abort();
    Array.from(form.elements).forEach(function (field) {
      var value = (field.value || "").trim();
      if (field.name && field.name !== "q" && (value === "" || (field.name === "sort" && value === "relevance"))) field.disabled = true;
    });
  });
  window.addEventListener("pageshow", function () {
    Array.from(form.elements).forEach(function (field) { field.disabled = false; });
  });
  last = params().toString();
})();
