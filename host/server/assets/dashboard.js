// Floor screens — the dashboard and TV mode — kept live. The server draws every tile; this
// keeps them current from the organization's tile stream (GET /floor/events), catches up from
// GET /floor/tiles after a reconnect, filters tiles by state and group, counts time in state,
// and in TV mode sizes the tiles so every machine fits the screen. Without JavaScript the
// pages still show the state at load time, and the filter form works by reloading.
//
// The same file connects a wall display from its link (/tv/connect#chs_…), so the display's
// code never travels in a URL a server sees.
"use strict";

(function () {
  const connectCode = document.getElementById("display-code");
  if (connectCode) {
    connectFromLink(connectCode);
    return;
  }
  const grid = document.getElementById("tiles");
  if (!grid) {
    return;
  }
  const tv = document.body.classList.contains("layout-tv");
  const connection = document.getElementById("connection");
  const STATES = ["offline", "alarm", "running", "paused", "setup", "idle"];
  const LABELS = {
    offline: "Offline",
    alarm: "Alarm",
    running: "Running",
    paused: "Paused",
    setup: "Setup",
    idle: "Idle",
  };
  // The stream beats every 15 s; three missed beats mean the connection died silently.
  const SILENCE_MS = 45000;
  // Names, groups and goals can change, and the day turns: read every tile now and then.
  const RESYNC_MS = 5 * 60 * 1000;

  // The server draws the tiles; a machine added or removed reloads the page.
  const allTiles = Array.from(grid.querySelectorAll(".tile"));
  const byId = new Map(allTiles.map((tile) => [tile.dataset.machine, tile]));

  function tiles() {
    return allTiles;
  }

  function tileOf(id) {
    return byId.get(id) || null;
  }

  // "12 min", "2 h 05 min", "3 d 4 h", as the server writes them.
  function elapsed(ms) {
    const minutes = Math.floor(Math.max(ms, 0) / 60000);
    if (minutes < 1) {
      return "under a minute";
    }
    if (minutes < 60) {
      return minutes + " min";
    }
    if (minutes < 1440) {
      return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
    }
    return Math.floor(minutes / 1440) + " d " + Math.floor((minutes % 1440) / 60) + " h";
  }

  function showSince(tile) {
    const since = tile.querySelector(".tile-since");
    const ms = Number(since.dataset.since);
    since.textContent = since.dataset.since && ms > 0 ? "for " + elapsed(Date.now() - ms) : "";
  }

  function setText(tile, selector, text) {
    const element = tile.querySelector(selector);
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function update(tile, state) {
    const status = STATES.includes(state.status) ? state.status : "offline";
    if (tile.dataset.status !== status) {
      STATES.forEach((known) => tile.classList.remove("tile-" + known));
      tile.classList.add("tile-" + status);
      tile.dataset.status = status;
      tile.querySelector(".state-icon use").setAttribute("href", "#icon-" + status);
    }
    setText(tile, ".tile-label", state.label || LABELS[status]);
    tile.querySelector(".tile-since").dataset.since = state.since_ms ? String(state.since_ms) : "";
    showSince(tile);
    setText(tile, ".tile-program", state.program || "—");
    const parts = Number(state.parts_today) || 0;
    setText(tile, ".parts-count", String(parts));
    const meter = tile.querySelector(".parts-meter");
    if (meter) {
      meter.value = parts;
    }
    const alarm = tile.querySelector(".tile-alarm");
    alarm.hidden = !state.alarm;
    setText(alarm, ".alarm-text", state.alarm || "");
    const collection = tile.querySelector(".tile-collection");
    collection.hidden = !state.collection;
    if (collection.textContent !== (state.collection || "")) {
      collection.textContent = state.collection || "";
    }
  }

  // Filters: which tiles show, and how many machines each state has.
  const filters = document.getElementById("filters");

  function chosen() {
    if (!filters) {
      return { state: "", group: "" };
    }
    const state = filters.querySelector("input[name=state]:checked");
    const group = filters.querySelector("select[name=group]");
    return { state: state ? state.value : "", group: group ? group.value : "" };
  }

  function applyFilters() {
    const { state, group } = chosen();
    let shown = 0;
    const counts = { "": 0 };
    for (const tile of tiles()) {
      const visible = (!state || tile.dataset.status === state) && (!group || tile.dataset.group === group);
      tile.hidden = !visible;
      shown += visible ? 1 : 0;
      counts[""] += 1;
      counts[tile.dataset.status] = (counts[tile.dataset.status] || 0) + 1;
    }
    for (const count of document.querySelectorAll("[data-count-for]")) {
      const value = counts[count.dataset.countFor] || 0;
      if (tv) {
        count.hidden = value === 0;
        const label = LABELS[count.dataset.countFor] || "";
        const text = value + " " + label;
        if (count.lastChild && count.lastChild.nodeType === Node.TEXT_NODE) {
          count.lastChild.textContent = text;
        }
      } else {
        count.textContent = String(value);
      }
    }
    const summary = document.getElementById("filter-summary");
    if (summary) {
      summary.hidden = shown === counts[""];
      const shownCount = document.getElementById("shown-count");
      if (shownCount) {
        shownCount.textContent = String(shown);
      }
    }
    if (tv && shown !== fittedFor) {
      fit();
    }
  }

  // Filters and counts follow changes once per frame however many tiles changed in it.
  let filtersPending = false;
  function scheduleFilters() {
    if (!filtersPending) {
      filtersPending = true;
      requestAnimationFrame(() => {
        filtersPending = false;
        applyFilters();
      });
    }
  }

  if (filters) {
    // Filters apply as they change; the button is for pages without this script.
    const apply = filters.querySelector(".filter-apply");
    if (apply) {
      apply.hidden = true;
    }
    filters.addEventListener("change", () => {
      const { state, group } = chosen();
      const query = new URLSearchParams();
      if (state) {
        query.set("state", state);
      }
      if (group) {
        query.set("group", group);
      }
      const search = query.toString();
      history.replaceState(null, "", search ? "?" + search : location.pathname);
      applyFilters();
    });
  }

  // TV mode: the column count that gives every tile the most room, for the tiles shown. Tiles
  // keep their size as data changes (their content is laid out for that), so this runs when
  // the screen or the number of tiles shown changes.
  let fittedFor = -1;
  function fit() {
    const visible = tiles().filter((tile) => !tile.hidden);
    fittedFor = visible.length;
    const count = Math.max(visible.length, 1);
    const main = grid.parentElement;
    const style = getComputedStyle(main);
    const width = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = main.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const gap = parseFloat(getComputedStyle(grid).rowGap) || 0;
    let best = { columns: 1, rows: count, tileHeight: 0, score: -1 };
    for (let columns = 1; columns <= count; columns += 1) {
      const rows = Math.ceil(count / columns);
      const tileWidth = (width - gap * (columns - 1)) / columns;
      const tileHeight = (height - gap * (rows - 1)) / rows;
      // A tile reads best at about 16:10; beyond that, extra width or height is wasted.
      const score = Math.min(tileWidth / 1.6, tileHeight);
      if (score > best.score) {
        best = { columns, rows, tileHeight, score };
      }
    }
    grid.style.gridTemplateColumns = "repeat(" + best.columns + ", minmax(0, 1fr))";
    grid.style.gridAutoRows = Math.floor(best.tileHeight) + "px";
    // Type is sized from the tile; shrink it until every tile's content fits (an alarm's
    // text or a long name takes more room than the estimate).
    let scale = Math.max(best.score, 40);
    for (let attempt = 0; attempt < 8; attempt += 1) {
      grid.style.setProperty("--tile-scale", scale.toFixed(1) + "px");
      const overflowing = visible.some((tile) => {
        const body = tile.querySelector(".tile-body");
        return body.scrollHeight > body.clientHeight + 1;
      });
      if (!overflowing) {
        break;
      }
      scale *= 0.9;
    }
  }

  function showClock() {
    const clock = document.getElementById("tv-clock");
    if (clock) {
      const now = new Date();
      clock.dateTime = now.toISOString();
      clock.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
  }

  function setConnection(state, text) {
    if (!connection) {
      return;
    }
    connection.hidden = false;
    connection.dataset.state = state;
    connection.querySelector(".connection-text").textContent = text;
  }

  function disconnected() {
    const notice = document.getElementById("tv-notice");
    if (notice) {
      notice.textContent = "This display was disconnected by an admin. Connect it again from Organization → Wall displays.";
      notice.hidden = false;
    }
    setConnection("offline", "Disconnected");
  }

  // Reads every tile; a machine added or removed reloads the page (the server draws tiles).
  let resyncing = null;
  function resync() {
    if (resyncing) {
      return resyncing;
    }
    resyncing = fetch("/floor/tiles", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (response.status === 401) {
          return Promise.reject(new Error("signed out"));
        }
        return response.ok ? response.json() : Promise.reject(new Error("HTTP " + response.status));
      })
      .then((body) => {
        const fresh = body.tiles || [];
        const known = tiles().map((tile) => tile.dataset.machine).sort().join("\n");
        const now = fresh.map((tile) => tile.id).sort().join("\n");
        const changed = fresh.some((tile) => {
          const shown = tileOf(tile.id);
          return shown && (shown.dataset.group !== (tile.group || "") || shown.querySelector(".tile-name").textContent !== tile.name);
        });
        if (known !== now || changed) {
          location.reload();
          return;
        }
        fresh.forEach((tile) => update(tileOf(tile.id), tile));
        applyFilters();
      })
      .catch((error) => {
        if (error.message === "signed out") {
          if (tv) {
            disconnected();
          } else {
            location.assign("/sign-in?next=" + encodeURIComponent(location.pathname + location.search));
          }
        }
      })
      .finally(() => {
        resyncing = null;
      });
    return resyncing;
  }

  let events = null;
  let heardAt = Date.now();
  let retries = 0;
  let reconnectTimer = null;

  function heard() {
    heardAt = Date.now();
  }

  function connect() {
    if (events) {
      events.close();
    }
    setConnection("connecting", "Connecting…");
    events = new EventSource("/floor/events");
    events.addEventListener("open", () => {
      heard();
      retries = 0;
      setConnection("live", "Live");
      // Catch up with what changed while the page loaded or the stream was down.
      resync();
    });
    events.addEventListener("error", () => {
      setConnection("reconnecting", "Reconnecting…");
      if (events.readyState === EventSource.CLOSED) {
        // The server answered with an error (signed out, revoked, restarting): find out which.
        scheduleReconnect();
      }
    });
    events.addEventListener("ping", heard);
    events.addEventListener("resync", () => {
      heard();
      resync();
    });
    events.addEventListener("tile", (message) => {
      heard();
      let change;
      try {
        change = JSON.parse(message.data);
      } catch (_) {
        return;
      }
      const tile = tileOf(change.id);
      if (!tile) {
        resync();
        return;
      }
      update(tile, change);
      scheduleFilters();
    });
  }

  function scheduleReconnect() {
    if (reconnectTimer) {
      return;
    }
    retries += 1;
    const delay = Math.min(30000, 1000 * 2 ** Math.min(retries, 5));
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      resync().then(() => {
        const notice = document.getElementById("tv-notice");
        if (!notice || notice.hidden) {
          connect();
        }
      });
    }, delay);
  }

  if (!("EventSource" in window)) {
    setConnection("offline", "Live updates are not supported by this browser");
    return;
  }
  connect();
  setInterval(() => {
    if (Date.now() - heardAt > SILENCE_MS && !reconnectTimer) {
      setConnection("reconnecting", "Reconnecting…");
      events.close();
      scheduleReconnect();
    }
  }, 5000);
  setInterval(resync, RESYNC_MS);
  setInterval(() => tiles().forEach(showSince), 15000);
  tiles().forEach(showSince);
  if (tv) {
    showClock();
    setInterval(showClock, 1000);
    let resizing = null;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(resizing);
      resizing = requestAnimationFrame(fit);
    });
  }
  applyFilters();

  function connectFromLink(input) {
    const code = decodeURIComponent(location.hash.slice(1));
    if (!code.startsWith("chs_")) {
      return;
    }
    history.replaceState(null, "", location.pathname);
    input.value = code;
    input.form.submit();
  }
})();
