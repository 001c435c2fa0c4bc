// The machine page's charts, readable by pointer and keyboard: the server draws them as SVG,
// each interval or cycle a <rect class="seg"> with a <title>; this shows that title in a
// tooltip beside the pointer, and lets a keyboard user focus a chart and step through its
// rects with the arrow keys (Home and End for the first and last), the text also going to the
// chart's live readout. Without JavaScript the titles still show on hover.
"use strict";

(function () {
  const tooltip = document.createElement("div");
  tooltip.className = "chart-tooltip";
  tooltip.setAttribute("role", "tooltip");
  tooltip.id = "chart-tooltip";
  tooltip.hidden = true;
  document.body.append(tooltip);

  function place(x, y) {
    const margin = 12;
    const width = tooltip.offsetWidth;
    const height = tooltip.offsetHeight;
    const viewport = document.documentElement.clientWidth;
    let left = x + margin;
    if (left + width > viewport - 4) {
      left = Math.max(4, x - width - margin);
    }
    let top = y - height - margin;
    if (top < window.scrollY + 4) {
      top = y + margin;
    }
    tooltip.style.left = left + "px";
    tooltip.style.top = top + "px";
  }

  function show(text, x, y) {
    tooltip.textContent = text;
    tooltip.hidden = false;
    place(x, y);
  }

  function hide() {
    tooltip.hidden = true;
  }

  function setUp(chart) {
    const rects = Array.from(chart.querySelectorAll("rect.seg"));
    if (rects.length === 0) {
      return;
    }
    const readout = document.getElementById(chart.dataset.readout || "");
    // The tooltip replaces the browser's own, which would show the same text twice.
    for (const rect of rects) {
      const title = rect.querySelector("title");
      rect.dataset.tip = title ? title.textContent : "";
      if (title) {
        title.remove();
      }
    }
    if (readout && readout.dataset.hint) {
      readout.textContent = readout.dataset.hint;
    }
    let current = -1;

    function mark(index) {
      if (current >= 0 && rects[current]) {
        rects[current].classList.remove("is-current");
      }
      current = index;
      if (index >= 0) {
        rects[index].classList.add("is-current");
      }
    }

    function say(index) {
      const text = rects[index].dataset.tip;
      if (readout) {
        readout.textContent = text;
      }
      return text;
    }

    chart.addEventListener("pointermove", (event) => {
      const rect = event.target.closest ? event.target.closest("rect.seg") : null;
      const index = rect ? rects.indexOf(rect) : -1;
      if (index < 0) {
        return;
      }
      if (index !== current) {
        mark(index);
        say(index);
      }
      show(rects[index].dataset.tip, event.pageX, event.pageY);
    });
    chart.addEventListener("pointerleave", () => {
      hide();
      if (document.activeElement !== chart) {
        mark(-1);
      }
    });

    function showAt(index) {
      mark(index);
      const text = say(index);
      const box = rects[index].getBoundingClientRect();
      show(text, box.left + window.scrollX + box.width / 2, box.top + window.scrollY);
    }

    chart.addEventListener("keydown", (event) => {
      let index = current;
      switch (event.key) {
        case "ArrowRight":
        case "ArrowDown":
          index = current < 0 ? 0 : Math.min(rects.length - 1, current + 1);
          break;
        case "ArrowLeft":
        case "ArrowUp":
          index = current < 0 ? rects.length - 1 : Math.max(0, current - 1);
          break;
        case "Home":
          index = 0;
          break;
        case "End":
          index = rects.length - 1;
          break;
        case "Escape":
          hide();
          return;
        default:
          return;
      }
      event.preventDefault();
      showAt(index);
    });
    chart.addEventListener("blur", () => {
      hide();
      mark(-1);
    });
  }

  for (const chart of document.querySelectorAll("svg.chart")) {
    setUp(chart);
  }
  window.addEventListener("scroll", hide, { passive: true });
})();

// The machine's current state, kept live from the floor's tile stream; the charts stay as
// drawn for the range asked for.
(function () {
  const badge = document.getElementById("machine-status");
  if (!badge || !("EventSource" in window)) {
    return;
  }
  const since = document.getElementById("machine-since");
  const events = new EventSource("/floor/events");
  events.addEventListener("tile", (message) => {
    let change;
    try {
      change = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    if (change.id !== badge.dataset.machine || change.status === badge.dataset.status) {
      return;
    }
    badge.className = "status status-" + change.status;
    badge.dataset.status = change.status;
    badge.textContent = change.label;
    if (since) {
      const at = change.since_ms ? new Date(change.since_ms) : null;
      since.textContent = at
        ? "since " + at.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })
        : "";
    }
  });
})();
