// The dashboard's live updates: the table is drawn by the server; this keeps it current from
// the organization's event stream (GET /api/v1/events) and adds machines that appear
// (GET /api/v1/machines). Without JavaScript the page still shows the state at load time.
"use strict";

(function () {
  const LABELS = {
    running: "Running",
    idle: "Idle",
    paused: "Paused",
    setup: "Setup",
    alarm: "Alarm",
    offline: "Offline",
  };
  const body = document.getElementById("machine-rows");
  const empty = document.getElementById("no-machines");
  const wrap = document.getElementById("machines-wrap");
  const connection = document.getElementById("connection");
  if (!body || !connection) {
    return;
  }

  function setConnection(state, text) {
    connection.hidden = false;
    connection.dataset.state = state;
    connection.querySelector(".connection-text").textContent = text;
  }

  function formatTime(ms) {
    const at = new Date(ms);
    const today = new Date();
    const sameDay = at.toDateString() === today.toDateString();
    return sameDay
      ? at.toLocaleTimeString()
      : at.toLocaleDateString() + " " + at.toLocaleTimeString();
  }

  function findRow(id) {
    for (const row of body.rows) {
      if (row.dataset.machine === id) {
        return row;
      }
    }
    return null;
  }

  function newRow(id) {
    const row = document.createElement("tr");
    row.dataset.machine = id;
    const name = document.createElement("th");
    name.scope = "row";
    name.className = "name";
    const label = document.createElement("a");
    label.className = "machine-name";
    label.href = "/machines/" + encodeURIComponent(id);
    const machineId = document.createElement("span");
    machineId.className = "machine-id";
    machineId.textContent = id;
    name.append(label, machineId);
    const status = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "status";
    status.append(badge);
    const driver = document.createElement("td");
    driver.className = "driver";
    const updated = document.createElement("td");
    updated.className = "updated";
    row.append(name, status, driver, updated);
    body.append(row);
    if (empty) {
      empty.hidden = true;
    }
    if (wrap) {
      wrap.hidden = false;
    }
    return row;
  }

  function setName(row, name) {
    row.querySelector(".machine-name").textContent = name;
  }

  function setStatus(row, status) {
    const badge = row.querySelector(".status");
    const known = Object.prototype.hasOwnProperty.call(LABELS, status) ? status : "offline";
    badge.className = "status status-" + known;
    badge.dataset.status = known;
    badge.textContent = LABELS[known];
  }

  function setUpdated(row, ms) {
    const cell = row.querySelector(".updated");
    cell.textContent = "";
    if (!ms) {
      cell.textContent = "—";
      return;
    }
    const time = document.createElement("time");
    time.dateTime = new Date(ms).toISOString();
    time.textContent = formatTime(ms);
    cell.append(time);
  }

  function render(machine) {
    const row = findRow(machine.id) || newRow(machine.id);
    if (machine.name) {
      setName(row, machine.name);
    }
    if (machine.status) {
      setStatus(row, machine.status);
    }
    if (machine.driver_status !== undefined || machine.enabled === false) {
      const driver = machine.enabled === false
        ? "stopped"
        : machine.driver_status ? machine.driver_status.state : "—";
      row.querySelector(".driver").textContent = driver;
    }
    if (machine.last_update_ms !== undefined) {
      setUpdated(row, machine.last_update_ms);
    }
  }

  let loading = null;
  function load() {
    if (!loading) {
      loading = fetch("/api/v1/machines", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((list) => (list.machines || []).forEach(render))
        .catch(() => {})
        .finally(() => {
          loading = null;
        });
    }
    return loading;
  }

  // Times drawn by the server are UTC; show them in the browser's time zone.
  for (const time of body.querySelectorAll("time[datetime]")) {
    const ms = Date.parse(time.dateTime);
    if (!Number.isNaN(ms)) {
      time.textContent = formatTime(ms);
    }
  }

  setConnection("connecting", "Connecting…");
  if (!("EventSource" in window)) {
    setConnection("offline", "Live updates are not supported by this browser");
    return;
  }
  const events = new EventSource("/api/v1/events");
  events.addEventListener("open", () => {
    setConnection("live", "Live");
    // Catch up with what changed while the page loaded or the stream was down.
    load();
  });
  events.addEventListener("error", () => setConnection("reconnecting", "Reconnecting…"));
  events.addEventListener("machine", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    if (!findRow(event.machine)) {
      load();
      return;
    }
    render({ id: event.machine, status: event.status, last_update_ms: event.last_update_ms });
  });
})();
