// Progressive touches only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Forms that would lose work ask before leaving with unsent text.
  document.querySelectorAll("form[data-keep]").forEach(function (form) {
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) { if (dirty) { event.preventDefault(); } });
  });
  // Buttons that ask first: <button data-confirm="Really?">.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // A select that submits its form when changed (the queue's filters).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
