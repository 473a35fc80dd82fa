// Keyboard shortcuts, as in mail clients: j/k move a selection over list rows (tr.row), o or Enter
// opens the selected row, a approves it (when its row offers Approve), r and e open it to reject or
// to edit; ? shows the list of keys. On any page an element with data-shortcut="x" is activated by
// key x (a form field is focused, anything else clicked; data-shortcut-action="focus" only focuses).
// Keys typed into a field, or with Ctrl, Alt or Meta, are left alone. Plain JS, no build step.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const KEYS = [
    ["j", "Next row"], ["k", "Previous row"], ["o", "Open the selected row"], ["Enter", "Open the selected row"],
    ["a", "Approve (the selected row, when it offers Approve; on a proposal, its Approve button)"],
    ["r", "Reject: open the proposal at its decision"], ["e", "Edit: open the proposal to edit its arguments"],
    ["?", "Show or hide this help"], ["Esc", "Close this help, or clear the selection"],
  ];
  let selected = -1;
  let opener = null;

  function typing(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return !["checkbox", "radio", "button", "submit", "reset"].includes(el.type);
  }

  function visible(el) { return !!el && !el.closest("[hidden]") && el.getClientRects().length > 0; }

  // --- list rows ---------------------------------------------------------------------------------
  function rows() { return $$("tr.row[data-id]").filter((r) => !r.classList.contains("leaving") && visible(r)); }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((r, i) => {
      r.classList.toggle("kb-selected", i === selected);
      if (i === selected) r.setAttribute("aria-selected", "true"); else r.removeAttribute("aria-selected");
    });
    const row = all[selected];
    row.scrollIntoView({ block: "nearest" });
    const link = rowLink(row);
    if (link) link.focus({ preventScroll: true });
  }

  function current() {
    const row = $("tr.row.kb-selected");
    return row && row.isConnected && !row.classList.contains("leaving") ? row : null;
  }

  function rowLink(row) { return $("a[data-field=link][href]", row) || $("a[href]", row); }

  function go(row, hash) {
    const link = rowLink(row);
    if (link) location.assign(link.getAttribute("href") + (hash || ""));
  }

  function approve(row) {
    const form = $("form[data-field=approve]", row);
    if (!form || form.hidden) return false;
    const button = $("button[value=approve]", form);
    if (form.requestSubmit) form.requestSubmit(button || undefined); else form.submit();
    return true;
  }

  // --- data-shortcut -------------------------------------------------------------------------------
  function shortcut(key, { focusOnly = false } = {}) {
    const el = $$("[data-shortcut]").find((e) => e.dataset.shortcut.split(/\s+/).includes(key) && visible(e)
      && !e.disabled && !e.closest("fieldset[disabled]"));
    if (!el) return false;
    el.scrollIntoView({ block: "nearest" });
    if (focusOnly || typing(el) || el.dataset.shortcutAction === "focus") el.focus();
    else el.click();
    return true;
  }

  // --- help overlay ----------------------------------------------------------------------------------
  function overlay() {
    let box = $("#kb-help");
    if (box) return box;
    box = document.createElement("div");
    box.id = "kb-help";
    box.className = "kb-help";
    box.hidden = true;
    const dialog = document.createElement("div");
    dialog.className = "kb-help-box";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "kb-help-title");
    const title = Object.assign(document.createElement("h2"), { id: "kb-help-title", textContent: "Keyboard shortcuts" });
    const close = Object.assign(document.createElement("button"), {
      type: "button", className: "link", id: "kb-help-close", textContent: "Close",
    });
    close.setAttribute("aria-label", "Close the keyboard help");
    close.addEventListener("click", hideHelp);
    title.append(close);
    const list = document.createElement("dl");
    KEYS.forEach(([key, what]) => {
      const dt = document.createElement("dt");
      dt.append(Object.assign(document.createElement("kbd"), { textContent: key }));
      list.append(dt, Object.assign(document.createElement("dd"), { textContent: what }));
    });
    const note = Object.assign(document.createElement("p"), {
      className: "muted small", textContent: "Keys are ignored while you type in a field.",
    });
    dialog.append(title, list, note);
    box.append(dialog);
    box.addEventListener("click", (e) => { if (e.target === box) hideHelp(); });
    document.body.append(box);
    return box;
  }

  function showHelp() {
    const box = overlay();
    opener = document.activeElement;
    box.hidden = false;
    $("#kb-help-close").focus();
  }

  function hideHelp() {
    const box = $("#kb-help");
    if (!box || box.hidden) return;
    box.hidden = true;
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  }

  function helpOpen() { const box = $("#kb-help"); return !!box && !box.hidden; }

  // --- keys --------------------------------------------------------------------------------------------
  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (helpOpen()) {
      if (e.key === "Escape" || e.key === "?") { e.preventDefault(); hideHelp(); }
      else if (e.key === "Tab") { e.preventDefault(); $("#kb-help-close").focus(); }  // focus stays in the dialog
      return;
    }
    if (typing(e.target)) return;
    const row = current();
    let done = true;
    switch (e.key) {
      case "?": showHelp(); break;
      case "j": select(row ? rows().indexOf(row) + 1 : 0); break;
      case "k": select(row ? rows().indexOf(row) - 1 : 0); break;
      case "o": if (row) go(row); else done = false; break;
      case "Enter":  // a focused link or button already does its own thing
        if (row && !e.target.closest("a, button, summary, input")) go(row); else done = false;
        break;
      case "a": done = row ? approve(row) : shortcut("a"); break;
      case "r": if (row) go(row, "#reject"); else done = shortcut("r"); break;
      case "e": if (row) go(row, "#edit"); else done = shortcut("e"); break;
      case "Escape":
        if (row) { row.classList.remove("kb-selected"); row.removeAttribute("aria-selected"); selected = -1; }
        else done = false;
        break;
      default: done = e.key.length === 1 && shortcut(e.key);
    }
    if (done) e.preventDefault();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("keydown", onKey);
    // Opened from a list with r or e: bring that decision's control into view and focus it.
    const intent = { "#reject": "r", "#edit": "e" }[location.hash];
    if (intent) shortcut(intent, { focusOnly: true });
  });
})();
