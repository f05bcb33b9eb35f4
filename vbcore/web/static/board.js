// vbus board: reads the board's API and draws what it returns. No library, nothing fetched from
// elsewhere; every value from the server is put in the page as text (textContent), never as HTML.
"use strict";

(function () {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const T = JSON.parse(meta("vbus-texts"));
  const USER = JSON.parse(meta("vbus-user"));
  const CSRF = meta("vbus-csrf");
  const LANG = meta("vbus-lang");
  const PER_PAGE = 20;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : `{${key}}`));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function local(iso) {
    if (!iso) return "-";
    const at = new Date(iso);
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hour12: false,
    }).formatToParts(at);
    const get = (type) => parts.find((p) => p.type === type).value;
    return `${get("day")}/${get("month")}/${get("year")} ${get("hour")}:${get("minute")}`;
  }

  function wrote(text) {
    // A status's own time, as the package wrote it (Vietnam time): 2026-11-24T08:50:00 -> 24/11/2026 08:50
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(text || "");
    return m ? `${m[3]}/${m[2]}/${m[1]} ${m[4]}:${m[5]}` : text || "-";
  }

  function put(box, ...children) {
    box.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
  }

  function notice(text, kind) {
    const box = document.getElementById("notice");
    box.textContent = text;
    box.className = `notice ${kind || ""}`;
  }

  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.method && opts.method !== "GET") {
      opts.headers["X-CSRF-Token"] = CSRF;
      opts.headers["Content-Type"] = "application/json";
    }
    const sep = path.includes("?") ? "&" : "?";
    const response = await fetch(`${path}${sep}lang=${LANG}`, opts);
    if (response.status === 401) {
      notice(T.session_ended, "error");
      window.location.assign("/login");
      throw new Error("401");
    }
    if (response.status === 403) throw new Error(T.forbidden);
    if (!response.ok) throw new Error(fill(T.error, { why: response.status }));
    return response.status === 204 ? null : response.json();
  }

  function pager(page, render) {
    const pages = Math.max(1, Math.ceil(page.total / page.per_page));
    if (pages === 1) return null;
    return el("nav", { class: "pager" },
      el("button", { type: "button", disabled: page.page <= 1, onclick: () => render(page.page - 1) }, T.previous),
      el("span", {}, fill(T.page, { n: page.page, of: pages })),
      el("button", { type: "button", disabled: page.page >= pages, onclick: () => render(page.page + 1) }, T.next));
  }

  function stateBadge(state, text, overdue) {
    const kind = overdue ? "late" : state === "refused-by-hub" || state === "02" ? "bad"
      : ["01", "03", "04", "05", "06"].includes(state) ? "good" : "wait";
    return el("span", { class: `badge ${kind}`, title: state }, text);
  }

  // --- search and results -------------------------------------------------------------------------

  let lastSearch = null;

  function documentsTable(page, onPage) {
    if (!page.items.length) return el("p", { class: "empty" }, T.no_results);
    const rows = page.items.map((d) => el("tr", {},
      el("td", { "data-label": T.col_received }, local(d.received_at)),
      el("td", { "data-label": T.col_document },
        el("a", { href: "#", class: "doc-link", "data-id": d.document_id,
                  onclick: (e) => { e.preventDefault(); openTimeline(d.document_id); } },
          [d.type_name, d.code].filter(Boolean).join(" ") || d.document_id)),
      el("td", { "data-label": T.col_sender }, d.sender_name || d.sender),
      el("td", { "data-label": T.col_subject }, d.subject || ""),
      el("td", { "data-label": T.col_recipients },
        d.recipients.map((r) => el("div", { class: "recipient" },
          `${r.name || r.recipient} `, stateBadge(r.state, r.state_text, r.overdue))))));
    return el("div", {},
      el("p", { class: "count" }, fill(T.results, { n: page.total })),
      el("table", { class: "list" },
        el("thead", {}, el("tr", {}, [T.col_received, T.col_document, T.col_sender, T.col_subject,
          T.col_recipients].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows)),
      pager(page, onPage));
  }

  async function runSearch(q, page) {
    lastSearch = q;
    const results = document.getElementById("results");
    const understood = document.getElementById("understood");
    try {
      let data;
      if (q) {
        const found = await api(`/api/search?q=${encodeURIComponent(q)}&page=${page}&per_page=${PER_PAGE}`);
        understood.replaceChildren(found.understood.length ? el("span", { class: "label" }, T.understood) : "",
          ...found.understood.map((u) => el("span", { class: `chip ${u.kind}`, title: u.text },
            `${u.kind_text}: ${u.label}`)));
        data = found.results;
        document.getElementById("results-title").textContent = T.search_label;
      } else {
        understood.replaceChildren();
        data = await api(`/api/documents?page=${page}&per_page=${PER_PAGE}`);
        document.getElementById("results-title").textContent = T.recent;
      }
      put(results, documentsTable(data, (p) => runSearch(q, p)));
    } catch (err) {
      results.replaceChildren(el("p", { class: "error" }, err.message));
    }
  }

  // --- one document's timeline --------------------------------------------------------------------

  function step(label, when, extra, kind) {
    return el("li", { class: `step ${kind || ""}` },
      el("span", { class: "dot", "aria-hidden": "true" }),
      el("div", { class: "step-body" },
        el("strong", {}, label), " ", el("time", {}, when),
        extra ? el("div", { class: "muted" }, extra) : null));
  }

  function recipientCard(r, documentId) {
    const steps = [step(T.accepted, local(r.accepted_at))];
    if (r.forwarded_at) steps.push(step(T.forwarded, local(r.forwarded_at)));
    for (const s of r.statuses) {
      const when = s.status_time ? wrote(s.status_time) : local(s.received_at);
      const about = s.document_id !== documentId ? ` (${s.document_id})` : "";
      steps.push(step(`${s.code} ${s.code_text}`, when, (s.description || "") + about,
        s.code === "02" ? "bad" : "good"));
    }
    if (r.deadline && !r.last_status) {
      steps.push(step(T.due, local(r.deadline), r.overdue ? r.late_text : null, r.overdue ? "late" : "wait"));
    }
    return el("article", { class: `recipient-card${r.overdue ? " overdue" : ""}`, "data-recipient": r.recipient },
      el("header", {}, el("strong", {}, r.name || r.recipient), " ", el("span", { class: "muted" }, r.recipient), " ",
        stateBadge(r.state, r.state_text, r.overdue),
        r.change_text ? el("span", { class: "badge wait" }, r.change_text) : null,
        r.overdue ? el("span", { class: "badge late" }, `${T.overdue}: ${r.late_text}`) : null),
      el("ol", { class: "steps" }, steps));
  }

  async function openTimeline(documentId) {
    const panel = document.getElementById("timeline-panel");
    const box = document.getElementById("timeline");
    panel.classList.remove("hidden");
    try {
      const t = await api(`/api/timeline?document_id=${encodeURIComponent(documentId)}`);
      const d = t.document;
      const head = d ? el("div", { class: "doc-head" },
        el("h3", {}, [d.type_name, d.code].filter(Boolean).join(" ") || d.document_id),
        el("p", {}, d.subject || ""),
        el("p", { class: "muted" }, `${d.sender_name || d.sender} — ${local(d.received_at)} — ${d.business_text}`),
        el("p", { class: "muted small" }, d.written_id || d.document_id))
        : el("h3", {}, t.document_id);
      const parts = [head, ...t.recipients.map((r) => recipientCard(r, t.document_id))];
      if (t.refusals.length) {
        parts.push(el("h3", {}, T.refused_by_hub), el("ul", { class: "refusals" },
          t.refusals.map((r) => el("li", {}, `${local(r.at)} ${r.recipient || ""} ${r.reason}: ${r.detail}`))));
      }
      if (t.actions.length) {
        parts.push(el("h3", {}, T.actions), el("ul", {},
          t.actions.map((a) => el("li", {}, `${local(a.at)} ${a.actor}: ${a.action} ${a.message_id} (${a.outcome})`))));
      }
      box.replaceChildren(...parts);
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
    } catch (err) {
      box.replaceChildren(el("p", { class: "error" }, err.message));
    }
  }

  // --- lists: overdue, refusals, parked -------------------------------------------------------------

  async function loadOverdue(page) {
    const box = document.getElementById("overdue");
    try {
      const data = await api(`/api/overdue?page=${page}&per_page=${PER_PAGE}`);
      if (!data.items.length) { box.replaceChildren(el("p", { class: "empty" }, T.nothing_overdue)); return; }
      put(box, el("table", { class: "list" },
        el("thead", {}, el("tr", {}, [T.col_document, T.col_recipient, T.col_deadline, T.col_late].map((h) => el("th", {}, h)))),
        el("tbody", {}, data.items.map((o) => el("tr", { class: "late-row" },
          el("td", { "data-label": T.col_document }, el("a", { href: "#", onclick: (e) => { e.preventDefault(); openTimeline(o.document_id); } },
            o.code || o.document_id), el("div", { class: "muted small" }, o.sender_name || o.sender || "")),
          el("td", { "data-label": T.col_recipient }, o.recipient_name || o.recipient),
          el("td", { "data-label": T.col_deadline }, local(o.deadline)),
          el("td", { "data-label": T.col_late }, el("span", { class: "badge late" }, o.late_text)))))),
        pager(data, loadOverdue));
    } catch (err) {
      box.replaceChildren(el("p", { class: "error" }, err.message));
    }
  }

  async function loadRefusals(page) {
    const box = document.getElementById("refusals");
    try {
      const data = await api(`/api/refusals?page=${page}&per_page=10`);
      if (!data.items.length) { box.replaceChildren(el("p", { class: "empty" }, T.no_refusals)); return; }
      put(box, el("ul", { class: "refusals" }, data.items.map((r) => el("li", {},
        el("time", {}, local(r.at)), " ", el("strong", {}, r.sender_name || r.sender || "?"), " — ",
        el("span", { class: "badge bad", title: r.reason }, r.reason_text),
        r.document_id ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); openTimeline(r.document_id); } }, ` ${r.document_id}`) : null,
        el("div", { class: "muted small" }, r.detail)))), pager(data, loadRefusals));
    } catch (err) {
      box.replaceChildren(el("p", { class: "error" }, err.message));
    }
  }

  async function act(kind, messageId) {
    if (!window.confirm(fill(kind === "replay" ? T.confirm_replay : T.confirm_drop, { id: messageId }))) return;
    try {
      const result = await api(`/api/parked/${kind}`, { method: "POST", body: JSON.stringify({ message_id: messageId }) });
      notice(result.text, result.outcome === "done" ? "ok" : "error");
    } catch (err) {
      notice(err.message, "error");
    }
    await loadParked(1);
    loadCharts();
  }

  async function loadParked(page) {
    const box = document.getElementById("parked");
    try {
      const data = await api(`/api/parked?page=${page}&per_page=${PER_PAGE}`);
      if (!data.items.length) { box.replaceChildren(el("p", { class: "empty" }, T.no_parked)); return; }
      put(box, el("table", { class: "list" },
        el("thead", {}, el("tr", {}, [T.col_message, T.col_reason, ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, data.items.map((p) => el("tr", { "data-message-id": p.message_id },
          el("td", { "data-label": T.col_message }, el("div", { class: "mono" }, p.message_id),
            el("div", { class: "muted small" }, `${p.sender || T.no_sender} · ${p.kind || "?"} · ${p.size} B`)),
          el("td", { "data-label": T.col_reason }, p.reason_text),
          el("td", { class: "actions" }, USER.may_act ? [
            el("button", { type: "button", class: "replay", disabled: !p.replayable, onclick: () => act("replay", p.message_id) }, T.replay),
            el("button", { type: "button", class: "drop danger", onclick: () => act("drop", p.message_id) }, T.drop),
          ] : null))))), pager(data, loadParked));
    } catch (err) {
      box.replaceChildren(el("p", { class: "error" }, err.message));
    }
  }

  function loadCharts() {
    const names = ["hourly", "first-receipt", "refusals"];
    if (!USER.scoped && USER.broker) names.push("queues");
    const stamp = Date.now();
    document.getElementById("charts").replaceChildren(...names.map((name) => {
      const title = T[`chart_${name.replace("-", "_")}`];
      return el("figure", { class: "chart" }, el("figcaption", {}, title),
        el("img", { src: `/api/charts/${name}.svg?lang=${LANG}&t=${stamp}`, alt: title, id: `chart-${name}` }));
    }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("search").addEventListener("submit", (e) => {
      e.preventDefault();
      runSearch(document.getElementById("q").value.trim(), 1);
    });
    document.getElementById("close-timeline").addEventListener("click", () => {
      document.getElementById("timeline-panel").classList.add("hidden");
    });
    document.getElementById("logout").addEventListener("click", async () => {
      try { await api("/api/logout", { method: "POST", body: "{}" }); } finally { window.location.assign("/login"); }
    });
    runSearch("", 1);
    loadOverdue(1);
    loadRefusals(1);
    if (!USER.scoped && USER.broker) {
      document.getElementById("parked-panel").classList.remove("hidden");
      loadParked(1);
    }
    loadCharts();
  });
})();
