// Gatehouse console: the few live parts. Every page works without this file;
// it only adds copying, live progress and the provider check.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Copy buttons: <button data-copy="element-id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      // http://localhost in development has no clipboard API outside a secure context.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { /* selection stays for Ctrl+C */ }
    }
  });

  // Live regions: <div data-live-url="…"> is refreshed every 1.5 s while it
  // holds anything queued or running, then stops polling.
  function busy(region) {
    return region.querySelector('[data-deployment-status="queued"], [data-deployment-status="running"]');
  }
  function poll(region) {
    if (!busy(region)) {
      if (region.hasAttribute("data-reload-when-done") && region.getAttribute("data-was-busy")) {
        window.location.reload();
      }
      return;
    }
    region.setAttribute("data-was-busy", "1");
    setTimeout(function () {
      fetch(region.getAttribute("data-live-url"), { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          // Keep open what the reader opened; the fresh list folds finished deployments again.
          var opened = Array.from(region.querySelectorAll("[data-deployment-id] > details[open]")).map(function (d) {
            return d.parentNode.getAttribute("data-deployment-id");
          });
          region.innerHTML = html;
          opened.forEach(function (id) {
            var details = region.querySelector('[data-deployment-id="' + id + '"] > details');
            if (details) details.open = true;
          });
          localTimes(region);
          poll(region);
        })
        .catch(function () { setTimeout(function () { poll(region); }, 3000); });
    }, 1500);
  }
  // Times are written in UTC (quotable in a ticket, comparable with AWS logs);
  // this adds the reader's own clock beside them when it differs.
  function localTimes(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.querySelector(".local")) return;
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when) || when.getTimezoneOffset() === 0) return;
      var text = new Intl.DateTimeFormat(undefined, {
        day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
      }).format(when);
      var span = document.createElement("span");
      span.className = "local";
      span.setAttribute("data-zone", zone);
      span.textContent = " · " + text;
      el.appendChild(span);
    });
  }
  localTimes(document);

  document.querySelectorAll("[data-live-url]").forEach(poll);

  // Fields that follow the identity provider preset: data-presets="auth0 okta".
  function followPreset() {
    var select = document.getElementById("id_provider_preset");
    var choice = document.getElementById("id_provider_choice");
    if (!select) return;
    var newProvider = !choice || choice.value === "new";
    document.querySelectorAll("[data-new-provider]").forEach(function (el) { el.hidden = !newProvider; });
    var label = select.options[select.selectedIndex] ? select.options[select.selectedIndex].text : select.value;
    document.querySelectorAll("[data-presets]").forEach(function (row) {
      var wanted = row.getAttribute("data-presets").split(" ");
      var needed = wanted.indexOf(select.value) !== -1;
      row.hidden = !newProvider || !needed;
      // The server marks the fields the rendered preset needs; follow a new choice.
      var marker = row.querySelector("label .optional");
      if (marker) {
        if (!marker.hasAttribute("data-when")) marker.setAttribute("data-when", marker.textContent);
        marker.textContent = needed ? "required for " + label : marker.getAttribute("data-when").replace(/^required for .*/, "needed for this preset");
      }
      var input = row.querySelector("input, select, textarea");
      if (input && marker) input.setAttribute("aria-required", needed ? "true" : "false");
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_provider_preset" || event.target.id === "id_provider_choice") followPreset();
    if (event.target.name === "signin_choice") followSigninChoice();
  });
  followPreset();

  // Onboarding: the provider section only matters when viewers sign in there.
  function followSigninChoice() {
    var chosen = document.querySelector("input[name='signin_choice']:checked");
    document.querySelectorAll("[data-provider-section]").forEach(function (el) {
      el.hidden = !!chosen && chosen.value === "email_code";
    });
  }
  followSigninChoice();

  // The error summary: its links move focus to the field (a fragment only scrolls).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus();
  });
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  // "Check provider": POST the provider fields, show what discovery found or why it failed.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-provider-check]");
    if (!button) return;
    event.preventDefault();
    var form = button.form;
    var out = document.getElementById("provider-check-result");
    var data = new FormData();
    form.querySelectorAll("[name^=provider_]").forEach(function (input) {
      if (input.type !== "file") data.append(input.name, input.value);
    });
    button.disabled = true;
    out.hidden = false;
    out.removeAttribute("data-ok");
    out.textContent = "Fetching the discovery document…";
    fetch(button.getAttribute("data-provider-check"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form) }
    })
      .then(function (response) { return response.text(); })
      .then(function (html) { out.outerHTML = html; })
      .catch(function () { out.setAttribute("data-ok", "false"); out.textContent = "The console did not answer; try again."; })
      .finally(function () { button.disabled = false; });
  });

  // Typed confirmation: the button stays disabled until the name matches.
  document.querySelectorAll("[data-confirm-value]").forEach(function (input) {
    var button = document.getElementById(input.getAttribute("data-confirm-button"));
    var update = function () { button.disabled = input.value.trim() !== input.getAttribute("data-confirm-value"); };
    input.addEventListener("input", update);
    update();
  });

  // One click, one action: a second click on a slow POST would queue it twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method.toLowerCase() !== "post") return;
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Coming back with the Back button restores the page with its buttons disabled.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) document.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
})();
