// Orchestra reviewer pages: live updates over one WebSocket per inbox in the sidebar, and a few
// small conveniences. Plain JS, no build step. The server renders every page completely; this file
// only keeps it current (new rows, decided rows, counts) and re-syncs after a dropped connection.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const RISK_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
  const DONE = {
    approved: "Approved", rejected: "Rejected", edited_and_approved: "Approved with edits",
    answered: "Answered", expired: "Expired", refused: "Refused by policy", superseded: "Superseded",
  };
  const BLANK_ID = "00000000-0000-0000-0000-000000000000";

  // --- relative ages -----------------------------------------------------------------------------
  function ago(iso) {
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 45) return "just now";
    if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }
  function refreshAges() {
    $$("td.age time[datetime]").forEach((t) => { if (t.dateTime) t.textContent = ago(t.dateTime); });
  }

  // --- counts --------------------------------------------------------------------------------------
  const baseTitle = document.title;

  // A socket message carries a delta (+1 created, -1 decided) where the server knows it without a
  // query, else the absolute count: add the delta to what the page shows (rendered with the page).
  function addToCount(inboxId, delta) {
    const el = $(`[data-count-for="${inboxId}"]`);
    const n = el ? Number.parseInt(el.textContent, 10) : Number.NaN;
    if (!Number.isNaN(n)) setCount(inboxId, Math.max(0, n + delta));
  }

  function setCount(inboxId, n) {
    const queue = $("#queue");
    if (queue && Number(queue.dataset.inbox) === inboxId) document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
    $$(`[data-count-for="${inboxId}"]`).forEach((el) => {
      if (el.textContent.trim() === String(n)) return;
      el.textContent = n;
      el.classList.toggle("zero", n === 0);
      el.classList.remove("bump");
      void el.offsetWidth; // restart the animation
      el.classList.add("bump");
    });
  }

  // --- sockets: one per inbox, reconnect with exponential backoff and jitter ------------------------
  const sockets = new Map();

  function showLiveState() {
    const el = $("#live-status");
    if (!el || sockets.size === 0) return;
    const states = Array.from(sockets.values()).filter((s) => !s.refused);
    const [state, text, title] = states.length === 0 ? ["down", "Offline", "Signed out, or no access any more: reload the page"]
      : states.every((s) => s.open) ? ["live", "Live", "Updates arrive as they happen"]
      : states.some((s) => s.attempt > 0) ? ["down", "Reconnecting…", "Connection lost; retrying"]
      : ["idle", "Connecting…", "Opening the live connection"];
    el.dataset.state = state;
    el.textContent = text;
    el.title = title;
  }

  function connect(inboxId) {
    const state = { open: false, attempt: 0, missed: false, refused: false };
    sockets.set(inboxId, state);
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/inboxes/${inboxId}/`;
    const open = () => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        state.open = true;
        state.attempt = 0;
        if (state.missed) resync();
        state.missed = false;
        showLiveState();
      };
      ws.onmessage = (e) => {
        let msg;
        try { msg = JSON.parse(e.data); } catch { return; }
        if (typeof msg.pending_count === "number") setCount(inboxId, msg.pending_count);
        else if (typeof msg.pending_delta === "number" && msg.pending_delta) addToCount(inboxId, msg.pending_delta);
        document.dispatchEvent(new CustomEvent("orchestra:event", { detail: { inboxId, ...msg } }));
      };
      ws.onclose = (e) => {
        state.open = false;
        // 4403: no access (refused, or lost it): stop. 4401 (session ended) reconnects like a drop:
        // a session that is really over is then refused with 4403; a renewed one goes on.
        if (e.code === 4403) { state.refused = true; showLiveState(); return; }
        state.missed = true;
        const delay = Math.min(30000, 1000 * 2 ** state.attempt) * (0.5 + Math.random() / 2);
        state.attempt = Math.min(state.attempt + 1, 10);
        showLiveState();
        setTimeout(open, delay);
      };
    };
    open();
    showLiveState();
  }

  // After a dropped connection, events may have been missed: fetch this page again and swap in the
  // parts marked ``data-resync`` (the sidebar, the queue). The proposal page checks its status.
  async function resync() {
    let doc;
    try {
      const r = await fetch(location.href, { credentials: "same-origin" });
      if (!r.ok) return;
      doc = new DOMParser().parseFromString(await r.text(), "text/html");
    } catch { return; }
    $$("[data-resync][id]").forEach((el) => {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.importNode(fresh, true));
    });
    const now = $("#proposal"), then = doc.getElementById("proposal");
    if (now && then && then.dataset.status !== now.dataset.status) {
      markDecided({ status: then.dataset.status, decided_by: null });
    }
    refreshAges();
  }

  // --- inbox page: rows arrive and leave ---------------------------------------------------------
  function rowFor(id) { return $(`#queue-rows tr[data-id="${id}"]`); }

  function money(v) {
    const c = Number(v);
    return "$" + (c > 0 && c < 0.01 ? c.toFixed(4) : c.toFixed(2));
  }

  function buildRow(p) {
    const row = $("#row-template").content.firstElementChild.cloneNode(true);
    const field = (name) => $(`[data-field="${name}"]`, row);
    row.dataset.id = p.id;
    row.dataset.risk = p.risk;
    row.dataset.batch = p.batch || "";
    const select = field("select");
    if (select) select.value = p.id;
    field("batch").hidden = !p.batch;
    field("batch-id").textContent = (p.batch || "").length > 28 ? `${p.batch.slice(0, 27)}…` : (p.batch || "");
    const badge = field("risk");
    badge.className = `badge risk-${p.risk}`;
    badge.textContent = p.risk.charAt(0).toUpperCase() + p.risk.slice(1);
    $$("a[href], form[action]", row).forEach((el) => {
      const attr = el.tagName === "FORM" ? "action" : "href";
      el.setAttribute(attr, el.getAttribute(attr).replace(BLANK_ID, p.id));
    });
    field("action").textContent = p.action;
    field("resource").textContent = p.resource;
    field("summary").textContent = p.summary;
    if (p.kind === "question") {  // a question is answered on its page: no approve in place
      field("summary").prepend(Object.assign(document.createElement("span"), { className: "tag", textContent: "Question" }), " ");
    }
    field("agent").textContent = p.agent;
    field("confidence").textContent = `${Math.round(p.confidence * 100)}%`;
    field("cost").textContent = money(p.cost_usd);
    const age = field("age");
    age.dateTime = p.created_at;
    age.textContent = ago(p.created_at);
    showApprove(row, p);
    const due = field("deadline");  // lists.js writes the time left
    if (due && p.deadline) { due.dateTime = p.deadline; due.dataset.deadline = ""; due.classList.remove("muted"); }
    if (p.kind === "question") field("review").textContent = "Answer";
    return row;
  }

  // One button per row: approve in place, except high and critical risk, questions, tools that do
  // not accept approve, and proposals frozen by the kill switch, which open the review instead.
  function showApprove(row, p) {
    const inPlace = !(RISK_RANK[p.risk] <= RISK_RANK.high || p.kind === "question" || p.is_frozen
      || (p.allowed_verdicts && p.allowed_verdicts.length > 0 && !p.allowed_verdicts.includes("approve")));
    const approve = row.querySelector('[data-field="approve"]');
    const review = row.querySelector('[data-field="review"]');
    if (approve) approve.hidden = !inPlace;
    if (review) review.hidden = Boolean(approve) && inPlace;
  }

  function addRow(p) {
    const body = $("#queue-rows");
    const row = buildRow(p);
    let before = body.firstElementChild;
    if ($("#queue").dataset.order === "urgent") {
      const rank = RISK_RANK[p.risk];
      before = $$("tr[data-id]", body).find((r) => RISK_RANK[r.dataset.risk] > rank) || null;
    }
    const mates = p.batch ? $$("tr[data-id]", body).filter((r) => r.dataset.batch === p.batch) : [];
    if (mates.length) before = mates[mates.length - 1].nextElementSibling;  // a batch stays together
    body.insertBefore(row, before);
    row.classList.add("fresh");
    const size = Number($("#queue").dataset.pageSize) || Infinity;  // a page keeps its size: the last row moves on
    const rows = $$("tr[data-id]", body);
    if (rows.length > size) rows[rows.length - 1].remove();
    $("#queue-empty").hidden = true;
    $("table.queue").hidden = false;
  }

  // A decided (or moved) row says what happened, then leaves: "[Approved] by bob · deploy.restart service:auth".
  function retire(row, p) {
    if (row.classList.contains("leaving")) return;
    row.classList.add("leaving");
    const cell = document.createElement("td");
    cell.colSpan = row.cells.length;
    cell.className = "note";
    const pill = Object.assign(document.createElement("span"), {
      className: `status status-${p.status}`,
      textContent: p.status === "pending" ? "Moved" : DONE[p.status] || p.status,
    });
    const who = p.status === "pending" ? " to another inbox" : ` by ${p.decided_by || "policy"}`;
    const what = Object.assign(document.createElement("span"), {
      className: "muted", textContent: ` · ${p.action} ${p.resource}`.trimEnd(),
    });
    cell.append(pill, who, what);
    row.replaceChildren(cell);
    setTimeout(() => {
      row.remove();
      const body = $("#queue-rows");
      if (body && !body.querySelector("tr[data-id]")) {
        $("#queue-empty").hidden = false;
        $("table.queue").hidden = true;
      }
    }, 4000);
  }

  function onInboxEvent({ detail }) {
    const queue = $("#queue");
    if (!queue || detail.inboxId !== Number(queue.dataset.inbox) || !detail.proposal) return;
    const p = detail.proposal;
    const here = p.status === "pending" && (p.inbox_id == null || p.inbox_id === detail.inboxId);
    const row = rowFor(p.id);
    // A filtered, searched or later page, or the decided tab, gets a "refresh" notice (lists.js) instead.
    if (here && !row && (queue.dataset.live || "rows") === "rows") addRow(p);
    if (here && row && typeof p.is_frozen === "boolean") showApprove(row, p);  // frozen or thawed meanwhile
    if (!here && row && (queue.dataset.status || "pending") === "pending") retire(row, p);
  }

  // --- proposal page: decided (or escalated) elsewhere ------------------------------------------------
  function markDecided(p) {
    const head = $("#proposal");
    if (!head || head.dataset.status !== "pending") return;
    const moved = p.status === "pending";
    head.dataset.status = moved ? "moved" : p.status;
    const label = moved ? "Escalated" : DONE[p.status] || p.status;
    const pill = $("#proposal-status");
    pill.className = `status status-${moved ? "pending" : p.status}`;
    pill.textContent = label;
    const banner = $("#live-decided");
    const text = moved ? "Escalated to another inbox just now. "
      : p.decided_by ? `${label} by ${p.decided_by} just now. ` : `${label} meanwhile. `;
    banner.replaceChildren(
      document.createTextNode(text),
      Object.assign(document.createElement("a"), { href: location.pathname, textContent: "Reload to see it" }),
    );
    banner.hidden = false;
    $$("#decide fieldset").forEach((f) => { f.disabled = true; });
  }

  function onProposalEvent({ detail }) {
    const head = $("#proposal");
    const p = detail.proposal;
    if (!head || !p || p.id !== head.dataset.proposalId) return;
    const movedAway = p.status === "pending" && p.inbox_id != null && p.inbox_id !== Number(head.dataset.inbox);
    if (p.status !== "pending" || movedAway) markDecided(p);
  }

  // --- conflicts: a rival on the same resource was approved; this pending one was left to us --------
  function approvedLink(hrefOfThis, thisId, approved) {
    const text = `${approved.action} by ${approved.decided_by || "policy"}`;
    return Object.assign(document.createElement("a"), {
      href: hrefOfThis.replace(thisId, approved.id), textContent: text,
      title: "The approved rival (its inbox may not be yours to view)",
    });
  }

  function onConflictEvent({ detail }) {
    const p = detail.proposal, approved = detail.approved;
    if (detail.event !== "proposal.conflict" || !p || !approved || p.status !== "pending") return;
    const row = rowFor(p.id);
    if (row && !row.querySelector(".conflict-mark")) {
      const mark = Object.assign(document.createElement("div"), { className: "conflict-mark" });
      const link = $("a[href]", row);
      mark.append(Object.assign(document.createElement("span"), { className: "tag conflict", textContent: "Conflict" }),
        " a rival on this resource was approved just now: ",
        approvedLink(link ? link.getAttribute("href") : location.pathname, p.id, approved),
        "; this one is still yours to decide");
      $("td.what", row).append(mark);
      row.classList.add("fresh");
    }
    const head = $("#proposal");
    const banner = $("#live-conflict");
    if (head && banner && head.dataset.proposalId === p.id && head.dataset.status === "pending") {
      banner.replaceChildren(
        document.createTextNode(`A conflicting proposal on ${approved.resource} was approved just now: `),
        approvedLink(location.pathname, p.id, approved),
        document.createTextNode(". This one was left pending for you: approving it too would run both."),
      );
      banner.hidden = false;
    }
  }

  // --- small conveniences ----------------------------------------------------------------------------
  function onClick(e) {
    const btn = e.target.closest("[data-copy]");
    if (!btn) return;
    const input = $(btn.dataset.copy);
    input.select();
    const done = () => { btn.textContent = "Copied"; setTimeout(() => { btn.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, () => { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  function onSubmit(e) {
    const msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("orchestra:event", onInboxEvent);
    document.addEventListener("orchestra:event", onProposalEvent);
    document.addEventListener("orchestra:event", onConflictEvent);
    document.addEventListener("click", onClick);
    document.addEventListener("submit", onSubmit);
    refreshAges();
    setInterval(refreshAges, 30000);
    const queue = $("#queue");
    if (queue) setCount(Number(queue.dataset.inbox), Number(queue.dataset.pending ?? $$("#queue-rows tr[data-id]").length));
    if ("WebSocket" in window) $$("#inbox-nav [data-inbox-id]").forEach((a) => connect(Number(a.dataset.inboxId)));
  });
})();
