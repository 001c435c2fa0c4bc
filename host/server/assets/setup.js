// The machine setup form's conveniences. The form works without them: choosing a driver then
// reloads the page with its settings (GET ?driver=…), and the server checks everything.
// - choosing a driver swaps in its settings without a reload, keeping what was typed;
// - the id is suggested from the name until it is typed in;
// - "Add another endpoint" adds an endpoint row.
"use strict";

(function () {
  const form = document.getElementById("machine-form");
  if (!form) {
    return;
  }
  const page = form.dataset.page;
  const driverValue = document.getElementById("machine-driver-value");
  const choice = document.getElementById("driver-choice");
  // Replaced when another driver is chosen: always looked up.
  const endpointRows = () => document.getElementById("endpoint-rows");

  // Choosing a driver.
  function endpointsTyped() {
    for (const input of endpointRows().querySelectorAll("input")) {
      if (/\.(host|port)$/.test(input.name) && input.value.trim() !== "") {
        return true;
      }
    }
    return false;
  }

  function replace(selector, fresh) {
    const old = document.querySelector(selector);
    const replacement = fresh.querySelector(selector);
    if (old && replacement) {
      old.replaceWith(document.importNode(replacement, true));
    }
  }

  function showDriver(driver) {
    const url = page + "?driver=" + encodeURIComponent(driver);
    const settings = document.getElementById("driver-settings");
    settings.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        driverValue.value = driver;
        replace("#driver-settings", fresh);
        replace("#endpoints-help", fresh);
        const freshRows = fresh.getElementById("endpoint-rows");
        if (freshRows) {
          if (!endpointsTyped()) {
            replace("#endpoint-rows", fresh);
          } else {
            // Keep the typed rows; name the first as the new driver reads it, unless it was
            // named by hand.
            const current = endpointRows();
            const first = current.querySelector("input[name='endpoints[0].name']");
            const name = freshRows.dataset.defaultName || "";
            if (first && name && (first.value === "" || first.value === current.dataset.defaultName)) {
              first.value = name;
            }
            current.dataset.defaultName = name;
          }
        }
        history.replaceState(null, "", url);
      })
      .catch(() => {
        // Fall back to the page the form would load.
        window.location.assign(url);
      });
  }

  if (choice && driverValue && page) {
    const actions = document.getElementById("driver-choice-actions");
    if (actions) {
      actions.hidden = true;
    }
    choice.addEventListener("change", (event) => {
      const radio = event.target;
      if (radio instanceof HTMLInputElement && radio.name === "driver" && radio.checked) {
        showDriver(radio.value);
      }
    });
  }

  // Suggesting the id from the name.
  const name = document.getElementById("machine-name");
  const id = document.getElementById("machine-id");
  function slug(text) {
    return text
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9_]+/g, "-")
      .replace(/^[-_]+|-+$/g, "")
      .slice(0, 64)
      .replace(/-+$/, "");
  }
  if (name && id) {
    let typed = id.value !== "" && id.value !== slug(name.value);
    id.addEventListener("input", () => {
      typed = id.value !== "";
    });
    name.addEventListener("input", () => {
      if (!typed) {
        id.value = slug(name.value);
      }
    });
  }

  // Adding endpoint rows.
  const add = document.getElementById("add-endpoint");
  if (add && endpointRows()) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const current = endpointRows();
      const all = current.querySelectorAll(".endpoint-row");
      const last = all[all.length - 1];
      if (!last) {
        return;
      }
      const index = all.length;
      const row = last.cloneNode(true);
      row.dataset.row = String(index);
      const renumber = (text) => text.replace(/endpoint-\d+-/g, "endpoint-" + index + "-");
      row.querySelector("legend").textContent = "Endpoint " + (index + 1);
      for (const hint of row.querySelectorAll(".hint, .field-error")) {
        hint.remove();
      }
      for (const field of row.querySelectorAll(".field")) {
        field.classList.remove("field-invalid");
      }
      for (const label of row.querySelectorAll("label")) {
        label.htmlFor = renumber(label.htmlFor);
      }
      for (const input of row.querySelectorAll("input")) {
        input.id = renumber(input.id);
        input.name = input.name.replace(/^endpoints\[\d+\]/, "endpoints[" + index + "]");
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
        input.required = false;
      }
      for (const mark of row.querySelectorAll(".required")) {
        mark.className = "optional";
        mark.textContent = "(optional)";
      }
      current.append(row);
      row.querySelector("input").focus();
    });
  }
})();
