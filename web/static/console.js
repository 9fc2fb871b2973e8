// Progressive touches only: every page works without this file.
"use strict";
var DRAFT = "patroldesk.draft.";

// localStorage, or null where the browser refuses it (some private modes throw).
function draftStore() {
  try {
    window.localStorage.setItem(DRAFT + "probe", "1");
    window.localStorage.removeItem(DRAFT + "probe");
    return window.localStorage;
  } catch (error) { return null; }
}

// The fields of a form a person types or picks in; never the CSRF token or other hidden inputs.
function draftFields(form) {
  return Array.prototype.filter.call(form.elements, function (field) {
    if (!field.name || field.name === "csrf_token") { return false; }
    if (field.tagName === "TEXTAREA" || field.tagName === "SELECT") { return true; }
    return field.tagName === "INPUT" && ["text", "search", "number", "email"].indexOf(field.type) >= 0;
  });
}

// Drafts of forms the server took (it names them in data-drafts-sent): gone, and only those.
function dropSentDrafts(store) {
  document.querySelectorAll("[data-drafts-sent]").forEach(function (holder) {
    holder.getAttribute("data-drafts-sent").split(/\s+/).filter(Boolean).forEach(function (draft) {
      var stale = [];
      for (var i = 0; i < store.length; i++) {
        if (store.key(i).indexOf(DRAFT + draft + ".") === 0) { stale.push(store.key(i)); }
      }
      stale.forEach(function (key) { store.removeItem(key); });
    });
  });
}

// <form data-draft="10001/reply">: what is typed is kept per ticket and field, and put back on every load.
function keepDraft(form, store) {
  var restored = false;
  draftFields(form).forEach(function (field) {
    var key = DRAFT + form.getAttribute("data-draft") + "." + field.name;
    var kept = store.getItem(key);
    if (kept !== null && kept !== field.value) {
      field.value = kept;
      restored = restored || field.value === kept;
    }
    var save = function () {
      if (field.value === "") { store.removeItem(key); } else { store.setItem(key, field.value); }
    };
    field.addEventListener("input", save);
    field.addEventListener("change", save);
  });
  if (restored) {
    var note = document.createElement("p");
    note.className = "hint draft-kept";
    note.textContent = "Unsent text put back from this browser; it stays until the form is sent.";
    form.insertBefore(note, form.firstChild);
  }
}

document.addEventListener("DOMContentLoaded", function () {
  var store = draftStore();
  if (store) {
    dropSentDrafts(store);
    document.querySelectorAll("form[data-draft]").forEach(function (form) { keepDraft(form, store); });
  }
  // Forms that would lose work ask before leaving with unsent text; a kept draft loses nothing,
  // and the form being submitted is the work being saved.
  document.querySelectorAll("form[data-keep]").forEach(function (form) {
    var kept = store !== null && form.hasAttribute("data-draft");
    var dirty = false;
    form.addEventListener("input", function () { dirty = !kept; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) { if (dirty) { event.preventDefault(); } });
  });
  // A ticket opened without a place to go opens at its newest message.
  var latest = document.getElementById("latest");
  if (latest && !window.location.hash) { latest.scrollIntoView({block: "start"}); }
  // Buttons that ask first: <button data-confirm="Really?">.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // The close form's article fields start as the note's words (the title as the situation's first
  // sentence, the steps as the behaviour) until the agent writes their own.
  document.querySelectorAll("form[data-article-from-note]").forEach(function (form) {
    [["article_title", "situation", true], ["article_steps", "behaviour", false]].forEach(function (pair) {
      var target = form.elements[pair[0]], source = form.elements[pair[1]];
      if (!target || !source) { return; }
      var own = target.value.trim() !== "";
      target.addEventListener("input", function () { own = target.value.trim() !== ""; });
      source.addEventListener("input", function () {
        if (own) { return; }
        var text = source.value.trim();
        target.value = pair[2] ? text.split(/(?<=[.!?\u2026])\s/)[0] : text;
      });
    });
  });
  // A select that submits its form when changed (the queue's filters).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
