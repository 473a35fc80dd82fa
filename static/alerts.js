// Live alerts for domain orchestrators, auditors and the board: one socket per page (/ws/alerts/).
// A new alert raises the badge on the "Alerts" link, shows a notice, and on the alerts page adds a row.
(() => {
  "use strict";
  function show(alert) {
    const badge = document.getElementById("alerts-count");
    if (badge) { badge.textContent = String(Number(badge.textContent || 0) + 1); badge.hidden = false; }
    const list = document.getElementById("open-alerts");
    if (list) {
      const empty = document.getElementById("no-alerts");
      if (empty) empty.remove();
      const li = document.createElement("li");
      li.dataset.alertId = alert.id;
      const when = document.createElement("span"); when.className = "when"; when.textContent = "just now";
      const body = document.createElement("div");
      const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = alert.kind_label;
      body.append(tag, " " + alert.summary + " ");
      const where = document.createElement("span"); where.className = "muted small"; where.textContent = alert.domain || "enterprise";
      body.append(where);
      li.append(when, body);
      list.prepend(li);
    }
    const host = document.querySelector("main.content");
    if (host) {
      const note = document.createElement("div");
      note.className = "alert warning live-alert"; note.setAttribute("role", "alert");
      note.textContent = `${alert.kind_label}: ${alert.summary}`;
      host.prepend(note);
    }
  }
  function connect(attempt) {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/alerts/`);
    ws.onopen = () => { attempt = 0; document.body.dataset.alertsLive = "1"; };
    ws.onmessage = (e) => { try { const m = JSON.parse(e.data); if (m.type === "alert") show(m); } catch { /* not ours */ } };
    ws.onclose = (e) => {
      delete document.body.dataset.alertsLive;
      if (e.code === 4403) return;
      setTimeout(() => connect(Math.min(attempt + 1, 10)), Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2));
    };
  }
  document.addEventListener("DOMContentLoaded", () => {
    if ("WebSocket" in window && document.getElementById("nav-alerts")) connect(0);
  });
})();
