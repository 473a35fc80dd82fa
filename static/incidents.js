// Orchestra incidents: the SEV board and the war room stay current over one WebSocket each.
// Plain JS, no build step. The server renders every page completely; this file updates rows, the
// timeline and the header in place, re-fetches the page's [data-resync] parts when a change touches
// them (remediations, team, updates, contradictions), and ticks the countdowns.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const RESYNC_KINDS = new Set(["remediation", "decision", "update", "command", "role", "status", "severity",
    "merge", "escalation", "edit"]);

  // --- countdowns ----------------------------------------------------------------------------------
  function span(seconds) {
    const s = Math.abs(Math.round(seconds));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${m} min`;
    if (m) return `${m} min ${s % 60} s`;
    return `${s % 60} s`;
  }
  function tick() {
    $$("[data-countdown]").forEach((t) => {
      const due = Date.parse(t.dataset.countdown);
      if (Number.isNaN(due)) return;
      const left = (due - Date.now()) / 1000;
      const row = t.closest("tr[data-id]");
      const open = !row || ["triage", "investigating", "identified", "mitigated"].includes(row.dataset.status);
      const head = $("#war-room");
      const headOpen = !head || ["triage", "investigating", "identified", "mitigated"].includes(head.dataset.status);
      if (!open || !headOpen) { t.textContent = "—"; return; }
      t.textContent = left >= 0 ? `${span(left)} left` : `overdue ${span(left)}`;
      const holder = row || t.closest(".countdown");
      if (holder) holder.classList.toggle("overdue", left < 0);
    });
  }

  // --- the socket ----------------------------------------------------------------------------------
  function indicator() {
    let el = $("#incident-live");
    if (!el) {
      el = Object.assign(document.createElement("span"), { id: "incident-live", className: "live" });
      const top = $(".page-head .head-side") || $(".page-head");
      if (top) top.prepend(el);
    }
    return el;
  }
  function showState(state) {
    const el = indicator();
    el.dataset.state = state;
    el.textContent = { live: "Live", down: "Reconnecting…", idle: "Connecting…", refused: "Offline" }[state];
  }

  function connect(path, onMessage, onReconnect) {
    let attempt = 0, missed = false;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    const open = () => {
      const ws = new WebSocket(url);
      ws.onopen = () => { attempt = 0; showState("live"); if (missed) onReconnect(); missed = false; };
      ws.onmessage = (e) => { let m; try { m = JSON.parse(e.data); } catch { return; } onMessage(m); };
      ws.onclose = (e) => {
        if (e.code === 4403) { showState("refused"); return; }
        missed = true;
        showState("down");
        const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
        attempt = Math.min(attempt + 1, 10);
        setTimeout(open, delay);
      };
    };
    showState("idle");
    open();
  }

  // Fetch this page again and swap in its [data-resync] parts (gone from the fresh page: removed).
  let resyncTimer = null;
  function resyncSoon() {
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(resync, 250);
  }
  async function resync() {
    let doc;
    try {
      const r = await fetch(location.href, { credentials: "same-origin" });
      if (!r.ok) return;
      doc = new DOMParser().parseFromString(await r.text(), "text/html");
    } catch { return; }
    $$("[data-resync][id]").forEach((el) => {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.importNode(fresh, true)); else el.remove();
    });
    tick();
  }

  // --- the board -----------------------------------------------------------------------------------
  // After a dropped connection: the page again, and its rows redrawn from its fresh #board-data.
  async function resyncBoard() {
    await resync();
    $("#board-rows").replaceChildren();
    drawBoard();
    tick();
  }

  const SEV_RANK = (s) => Number(String(s).replace(/\D/g, "")) || 9;

  function triageAllowed(c) {
    const board = $("#board");
    const domains = (board.dataset.triageDomains || "").split(",");
    return c.is_candidate && (domains.includes("*") || domains.includes(String(c.domain_id)));
  }

  function fillRow(row, c) {
    row.dataset.id = c.id;
    row.dataset.severity = c.severity;
    row.dataset.due = c.target_due_at;
    row.dataset.status = c.status;
    row.classList.toggle("candidate", c.is_candidate);
    row.classList.toggle("overdue", c.overdue);
    const field = (n) => $(`[data-field="${n}"]`, row);
    const sev = field("severity");
    sev.textContent = c.severity;
    sev.className = `sev sev-${c.severity.toLowerCase()}`;
    field("link").setAttribute("href", `/incidents/${c.id}/`);
    field("reference").textContent = c.reference;
    field("title").textContent = c.title;
    field("domain").textContent = c.domain;
    field("reported_by").textContent = c.reported_by || "";
    field("raised").hidden = !c.reported_by;
    field("last_entry").textContent = c.last_entry || "";
    const status = field("status");
    status.textContent = c.status_label;
    status.className = `istatus istatus-${c.status}`;
    field("escalated").hidden = !c.escalation_level;
    field("commander").textContent = c.commander || "—";
    const pending = field("pending");
    pending.textContent = c.pending_remediations;
    pending.classList.toggle("zero", !c.pending_remediations);
    $("[data-countdown]", row).dataset.countdown = c.target_due_at;
    $$("form[action]", row).forEach((f) => f.setAttribute("action", `/incidents/${c.id}/status/`));
    field("triage").hidden = !triageAllowed(c);
    return row;
  }

  function place(row) {
    const body = $("#board-rows");
    const rank = SEV_RANK(row.dataset.severity), due = Date.parse(row.dataset.due);
    const before = $$("tr[data-id]", body).find((r) => r !== row && (SEV_RANK(r.dataset.severity) > rank
      || (SEV_RANK(r.dataset.severity) === rank && Date.parse(r.dataset.due) > due))) || null;
    if (row.nextElementSibling !== before || row.parentNode !== body) body.insertBefore(row, before);
  }

  function onBoard(m) {
    if (m.event !== "incident.changed" || !m.incident) return;
    const c = m.incident;
    let row = $(`#board-rows tr[data-id="${c.id}"]`);
    if (!c.is_open) {
      if (row) { row.classList.add("leaving"); setTimeout(() => { row.remove(); counts(); }, 1500); }
      return;
    }
    const fresh = !row;
    if (fresh) row = $("#board-row-template").content.firstElementChild.cloneNode(true);
    fillRow(row, c);
    place(row);
    if (fresh) row.classList.add("fresh");
    counts();
    tick();
  }

  function drawBoard() {
    const data = $("#board-data");
    if (!data) return;
    const body = $("#board-rows");
    JSON.parse(data.textContent).forEach((c) => {
      body.append(fillRow($("#board-row-template").content.firstElementChild.cloneNode(true), c));
    });
    counts();
  }

  function counts() {
    const n = $$("#board-rows tr[data-id]:not(.leaving)").length;
    $("#open-count").textContent = n;
    $("#board-empty").hidden = n > 0;
    $("table.board").hidden = n === 0;
  }

  // --- the war room --------------------------------------------------------------------------------
  function addEntry(e) {
    const list = $("#timeline");
    if (!list || $(`li[data-entry-id="${e.id}"]`, list)) return;
    const li = $("#entry-template").content.firstElementChild.cloneNode(true);
    li.dataset.entryId = e.id;
    li.classList.add(`kind-${e.kind}`, "fresh");
    if (e.by_agent) li.classList.add("by-agent");
    const field = (n) => $(`[data-field="${n}"]`, li);
    field("kind").textContent = e.kind_label;
    field("actor").textContent = e.actor;
    field("at").dateTime = e.at;
    field("at").textContent = e.at.slice(11, 19);
    field("confidence").textContent = e.confidence == null ? "" : `${Math.round(e.confidence * 100)}% confident`;
    field("question").textContent = e.question || "";
    field("question").hidden = !e.question;
    field("summary").textContent = e.summary;
    list.prepend(li);
  }

  function onWarRoom(m) {
    const head = $("#war-room");
    if (m.incident && m.incident.id === head.dataset.incident) {
      const c = m.incident;
      const moved = head.dataset.status !== c.status;
      head.dataset.status = c.status;
      const st = $("#head-status");
      st.textContent = c.status_label;
      st.className = `istatus istatus-${c.status}`;
      const sev = $("#head-severity");
      sev.textContent = c.severity;
      sev.className = `sev sev-${c.severity.toLowerCase()}`;
      $("#head-commander").textContent = c.commander || "nobody yet";
      $("#head-countdown [data-countdown]").dataset.countdown = c.target_due_at;
      if (moved) resyncSoon();
      tick();
    }
    if (m.event === "timeline.added" && m.entry) {
      addEntry(m.entry);
      if (RESYNC_KINDS.has(m.entry.kind) || (m.entry.kind === "finding" && m.entry.question)) resyncSoon();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    if (!("WebSocket" in window)) return;
    const board = $("#board"), head = $("#war-room");
    if (board) {
      drawBoard();
      tick();
      connect("/ws/incidents/", onBoard, resyncBoard);
      // Changes made by other processes (the task worker's escalations) reach this page's socket only
      // through a shared channel layer (Redis); without one, a quiet redraw each minute catches them.
      setInterval(() => { if (!$("#board").contains(document.activeElement)) resyncBoard(); }, 60000);
    }
    if (head) connect(`/ws/incidents/${head.dataset.incident}/`, onWarRoom, resync);
  });
})();
