/*
 * Show and hide application form fields (and materials) whose condition depends on another
 * field, as the applicant fills the form in. An element with data-show-when holds its condition
 * as JSON: {"field": name, "equals": v} | {"field": name, "in": [v, ...]} |
 * {"field": name, "contains": v}; the controlling field's inputs are named "f-" + name.
 * The server applies the same conditions on every save, so the page works without this file.
 */
(function () {
  "use strict";

  // A value as the form posts it (application_form._display): booleans as "true" / "false".
  function asPosted(value) {
    if (value === true) return "true";
    if (value === false) return "false";
    if (value === null || value === undefined) return "";
    return String(value);
  }

  function inputsOf(form, field) {
    return Array.prototype.slice.call(form.querySelectorAll('[name="f-' + field + '"]'));
  }

  function hiddenByCondition(input) {
    var holder = input.closest("[data-show-when]");
    return holder !== null && holder.hidden;
  }

  // The values currently chosen or typed in a field; none while the field itself is hidden.
  function currentValues(form, field) {
    var values = [];
    inputsOf(form, field).forEach(function (input) {
      if (hiddenByCondition(input)) return;
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) values.push(input.value);
      } else if (input.type !== "file") {
        values.push(input.value);
      }
    });
    return values;
  }

  function holds(form, condition) {
    if (!condition || typeof condition.field !== "string") return true;
    var values = currentValues(form, condition.field);
    if ("equals" in condition) return values.indexOf(asPosted(condition.equals)) !== -1;
    if ("in" in condition && Array.isArray(condition.in)) {
      return condition.in.some(function (expected) { return values.indexOf(asPosted(expected)) !== -1; });
    }
    if ("contains" in condition) return values.indexOf(asPosted(condition.contains)) !== -1;
    return false;
  }

  function refresh(form) {
    var conditional = Array.prototype.slice.call(form.querySelectorAll("[data-show-when]"));
    // A field shown only when another conditional field is shown settles within as many passes
    // as there are conditional elements.
    for (var pass = 0; pass <= conditional.length; pass += 1) {
      var changed = false;
      conditional.forEach(function (element) {
        var condition;
        try {
          condition = JSON.parse(element.getAttribute("data-show-when"));
        } catch (error) {
          return;
        }
        var hidden = !holds(form, condition);
        if (element.hidden !== hidden) {
          element.hidden = hidden;
          changed = true;
        }
      });
      if (!changed) return;
    }
  }

  function start() {
    Array.prototype.slice.call(document.querySelectorAll("form")).forEach(function (form) {
      if (!form.querySelector("[data-show-when]")) return;
      form.addEventListener("change", function () { refresh(form); });
      form.addEventListener("input", function () { refresh(form); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
