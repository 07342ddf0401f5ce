// Building the page: every value goes in as text (`append` makes text nodes of
// strings), never as HTML, so nothing the chain or an error holds can run.

// An element with attributes and children (strings, numbers, nodes, arrays).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

// A link to a page of the explorer: `#/` and the parts, each URL-encoded, so a
// value can never make a `javascript:` or an outside link.
function link(parts, text, attrs) {
  const path = parts.map((p) => encodeURIComponent(String(p))).join("/");
  return el("a", Object.assign({ href: "#/" + path }, attrs || {}), text);
}

// A hash, key or address in a monospace span, shortened where space is scarce.
function mono(text, short) {
  const full = String(text);
  const shown = short && full.length > 20 ? full.slice(0, 10) + "…" + full.slice(-8) : full;
  return el("span", { class: "mono", title: full }, shown);
}

function blockLink(height) {
  return link(["block", height], String(height));
}

function hashLink(kind, hash, short) {
  return link([kind, hash], mono(hash, short));
}

function accountLink(address, short) {
  return link(["account", address], mono(address, short));
}

// Rows of name and value.
function facts(rows) {
  const list = el("dl", { class: "facts" });
  for (const [name, value] of rows) {
    if (value === undefined) continue;
    list.append(el("dt", null, name), el("dd", null, value));
  }
  return list;
}

// A table with a header; `rows` are arrays of cells. Wrapped so that a narrow
// screen scrolls the table, not the page.
function table(headers, rows, attrs) {
  const head = el("thead", null, el("tr", null, headers.map((h) => el("th", null, h))));
  const body = el("tbody");
  for (const row of rows) body.append(tableRow(row));
  return el("div", { class: "scroll" }, el("table", attrs || null, head, body));
}

function tableRow(cells, attrs) {
  return el("tr", attrs || null, cells.map((c) => el("td", null, c)));
}

function section(title, ...children) {
  return el("section", null, el("h2", null, title), children);
}

function timeText(ms) {
  if (!ms) return "–";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function ageText(ms) {
  if (ms === undefined || ms === null) return "–";
  if (ms < 1000) return ms + " ms";
  const s = Math.round(ms / 1000);
  if (s < 120) return s + " s";
  const m = Math.round(s / 60);
  return m < 120 ? m + " min" : Math.round(m / 60) + " h";
}

function bytesText(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

// What a view shows when the API refused: 404 says "not found".
function failure(error) {
  if (error.status === 404) {
    return el("div", { class: "notice notfound" },
      el("h2", null, "Not found"), el("p", null, error.message));
  }
  return el("div", { class: "notice error" },
    el("h2", null, "Error"), el("p", null, error.message));
}
