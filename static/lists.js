// Orchestra inbox lists: deadlines as time left (kept current), and on a list that does not take new
// rows live (a filtered, searched or later page, the decided tab) a "N new — refresh" notice.
// Plain JS, no build step; orchestra.js dispatches the live events ("orchestra:event").
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function span(seconds) {
    const minutes = Math.max(1, Math.round(seconds / 60));
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.round(seconds / 3600);
    if (hours < 48) return `${hours} h`;
    return `${Math.round(seconds / 86400)} d`;
  }

  // The same words as the server's ``time_left`` filter: "in 20 min", "5 min overdue".
  function refreshDeadlines() {
    $$("time[data-deadline][datetime]").forEach((t) => {
      const seconds = (Date.parse(t.dateTime) - Date.now()) / 1000;
      if (Number.isNaN(seconds)) return;
      t.textContent = seconds > 0 ? `in ${span(seconds)}` : `${span(-seconds)} overdue`;
      const cell = t.closest("td.due");
      if (cell) {
        cell.classList.toggle("overdue", seconds <= 0);
        cell.classList.toggle("soon", seconds > 0 && seconds <= 3600);
      }
    });
  }

  let fresh = 0, changed = 0;

  function onEvent({ detail }) {
    const queue = $("#queue");
    if (!queue || detail.inboxId !== Number(queue.dataset.inbox) || !detail.proposal) return;
    refreshDeadlines();
    if (queue.dataset.live !== "notice") return;
    const p = detail.proposal;
    if (detail.event === "proposal.created" && p.status === "pending") fresh += 1;
    else if (queue.dataset.status !== "pending" && p.status !== "pending") changed += 1;
    else return;
    const parts = [];
    if (fresh) parts.push(`${fresh} new`);
    if (changed) parts.push(`${changed} decided`);
    $("#live-notice-text").textContent = `${parts.join(", ")} since this page was loaded —`;
    $("#live-notice").hidden = false;
  }

  // On a phone the filter fields and the bulk-decision card would push the first row below the fold:
  // only the search stays open (with a "More filters" toggle) unless a filter is in use, and the bulk
  // card shows once a row is ticked. Without JavaScript everything stays open.
  function compactOnPhones() {
    if (!window.matchMedia("(max-width: 640px)").matches) return;
    const filters = $("#filters");
    if (filters && !filters.dataset.narrowed) {
      filters.classList.add("compact");
      const toggle = Object.assign(document.createElement("button"), {
        type: "button", className: "btn small more-filters", textContent: "More filters",
      });
      toggle.setAttribute("aria-expanded", "false");
      toggle.addEventListener("click", () => {
        const open = filters.classList.toggle("compact") === false;
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "Fewer filters" : "More filters";
      });
      filters.querySelector(".filter-buttons")?.prepend(toggle);
    }
    const bulk = $("#bulk-decide");
    if (bulk) {
      const sync = () => { bulk.hidden = !document.querySelector('input[data-field="select"]:checked'); };
      document.addEventListener("change", (e) => { if (e.target.matches('input[data-field="select"]')) sync(); });
      sync();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    compactOnPhones();
    document.addEventListener("orchestra:event", onEvent);
    refreshDeadlines();
    setInterval(refreshDeadlines, 30000);
  });
})();
