"use strict";
// The shared-session page of ocgo: it reads <this URL>/data and re-reads it
// whenever <this URL>/event says the session changed. Everything is built
// with textContent: nothing from the session is ever parsed as HTML.
(function () {
  const base = location.pathname.replace(/\/+$/, "");
  const main = document.getElementById("main");
  const live = document.getElementById("live");
  const OUT_MAX = 6000;
  let loading = false, again = false, timer = 0, gone = false;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function cut(s) {
    if (s.length <= OUT_MAX) return s;
    const rest = s.slice(OUT_MAX);
    return s.slice(0, OUT_MAX) + " … [cut: " + rest.split("\n").length + " more lines]";
  }
  function when(ms) { return ms ? new Date(ms).toLocaleString() : ""; }
  function revertedAt(rv, messageID, partID) {
    if (!rv) return false;
    if (messageID !== rv.messageID) return messageID > rv.messageID;
    return !rv.partID || (partID !== "" && partID >= rv.partID);
  }

  function renderDiff(text) {
    const pre = el("pre", "diff");
    for (const line of text.split("\n")) {
      let cls = "";
      if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) cls = "dim";
      else if (line.startsWith("+")) cls = "add";
      else if (line.startsWith("-")) cls = "del";
      else if (line.startsWith("@@")) cls = "hunk";
      pre.appendChild(el("span", cls, line + "\n"));
    }
    return pre;
  }

  function renderPart(p, patch) {
    switch (p.type) {
      case "text":
        return el("div", "text" + (p.synthetic ? " dim" : ""), p.text);
      case "reasoning": {
        const d = el("details", "reasoning");
        d.appendChild(el("summary", "", "Reasoning"));
        d.appendChild(el("pre", "", p.text));
        return d;
      }
      case "tool": {
        const st = p.state || { status: "pending" };
        const box = el("div", "tool");
        const head = el("div");
        head.appendChild(el("span", "name", p.tool));
        head.appendChild(el("span", "dim status-" + st.status, " · " + st.status + (st.title ? " · " + st.title : "")));
        box.appendChild(head);
        if (st.input && Object.keys(st.input).length) {
          const d = el("details");
          d.appendChild(el("summary", "", "input"));
          d.appendChild(el("pre", "", JSON.stringify(st.input, null, 2)));
          box.appendChild(d);
        }
        if (st.output) {
          const d = el("details");
          d.appendChild(el("summary", "", "output"));
          d.appendChild(el("pre", "output", cut(st.output)));
          box.appendChild(d);
        }
        if (st.error) box.appendChild(el("pre", "error", cut(st.error)));
        return box;
      }
      case "patch": {
        const box = el("div", "patch");
        box.appendChild(el("div", "dim", "Changed files"));
        const list = el("ul", "files");
        const counts = {};
        for (const f of (patch && patch.files) || []) counts[f.file] = f;
        for (const f of (patch && patch.files && patch.files.length ? patch.files.map(x => x.file) : p.files)) {
          const li = el("li", "", f + "  ");
          const c = counts[f];
          if (c) {
            li.appendChild(el("span", "add", "+" + c.additions));
            li.appendChild(document.createTextNode(" "));
            li.appendChild(el("span", "del", "-" + c.deletions));
          }
          list.appendChild(li);
        }
        box.appendChild(list);
        if (patch && patch.diff) {
          const d = el("details");
          d.open = true;
          d.appendChild(el("summary", "", "diff"));
          d.appendChild(renderDiff(patch.diff));
          box.appendChild(d);
        }
        return box;
      }
      case "file":
        return el("div", "dim", "attachment: " + (p.filename || p.url || "") + " (" + p.mime + ")");
      default:
        return null;
    }
  }

  function render(d) {
    const s = d.session;
    document.title = s.title + " · ocgo";
    document.getElementById("title").textContent = s.title;
    let cost = 0;
    for (const m of d.messages) cost += m.info.cost || 0;
    document.getElementById("meta").textContent =
      "created " + when(s.time.created) + " · updated " + when(s.time.updated) + " · " + d.messages.length + " messages · $" + cost.toFixed(4);
    const rv = document.getElementById("revert");
    if (s.revert) {
      rv.hidden = false;
      rv.textContent = "Reverted to message " + s.revert.messageID + (s.revert.partID ? " (part " + s.revert.partID + ")" : "") +
        ": the changes from there on are undone.";
    } else {
      rv.hidden = true;
    }
    const open = new Set();
    for (const e of main.querySelectorAll("details[data-key]")) if (e.open) open.add(e.dataset.key);
    const frag = document.createDocumentFragment();
    for (const m of d.messages) {
      const reverted = revertedAt(s.revert, m.info.id, "");
      const box = el("section", "msg " + m.info.role + (reverted ? " reverted" : ""));
      box.id = m.info.id;
      const who = el("div", "who", m.info.role === "user" ? "User" : "Assistant" + (m.info.modelID ? " · " + m.info.providerID + "/" + m.info.modelID : ""));
      if (reverted) who.appendChild(el("span", "tag", "reverted"));
      box.appendChild(who);
      for (const p of m.parts) {
        const node = renderPart(p, d.patches[p.id]);
        if (!node) continue;
        node.id = p.id;
        for (const det of node.querySelectorAll ? node.querySelectorAll("details") : []) {
          det.dataset.key = p.id + ":" + (det.firstChild ? det.firstChild.textContent : "");
          if (open.has(det.dataset.key)) det.open = true;
        }
        if (!reverted && revertedAt(s.revert, m.info.id, p.id)) node.classList.add("reverted");
        box.appendChild(node);
      }
      if (m.info.error) box.appendChild(el("div", "error", m.info.error.name + ": " + ((m.info.error.data || {}).message || "")));
      frag.appendChild(box);
    }
    main.replaceChildren(frag);
    live.textContent = d.busy ? "live · the agent is working" : "live";
  }

  function revoked() {
    gone = true;
    document.getElementById("title").textContent = "This share link was revoked";
    document.getElementById("meta").textContent = "";
    document.getElementById("revert").hidden = true;
    main.replaceChildren();
    live.className = "live";
    live.textContent = "";
  }

  async function load() {
    if (gone) return;
    if (loading) { again = true; return; }
    loading = true;
    try {
      const r = await fetch(base + "/data", { cache: "no-store", credentials: "same-origin" });
      if (r.status === 404) { revoked(); return; }
      if (!r.ok) throw new Error("HTTP " + r.status);
      render(await r.json());
    } catch (e) {
      live.textContent = "could not load: " + e.message;
    } finally {
      loading = false;
      if (again) { again = false; load(); }
    }
  }

  const events = new EventSource(base + "/event");
  events.onopen = function () { live.classList.add("on"); load(); };
  events.onmessage = function () { clearTimeout(timer); timer = setTimeout(load, 50); };
  events.onerror = function () {
    live.classList.remove("on");
    if (events.readyState === EventSource.CLOSED) load();
  };
  load();
})();
