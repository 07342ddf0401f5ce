// The front page: the chain at a glance, the pool, the latest blocks newest
// first (re-read as blocks commit), and the live events as they arrive.

const HOME_BLOCKS = 20;
const FEED_MAX = 25;

// The replica id of each validator key, to name a block's proposer.
function replicaByKey(validators) {
  const byKey = new Map();
  for (const v of validators.validators) byKey.set(v.public_key, v.replica);
  return byKey;
}

function proposerCell(key, byKey) {
  return byKey.has(key) ? "replica " + byKey.get(key) : mono(key, true);
}

function blocksTable(blocks, byKey) {
  const rows = blocks.map((b) => tableRow([
    blockLink(b.height),
    hashLink("block", b.hash, true),
    String(b.tx_count),
    proposerCell(b.proposer, byKey),
    timeText(b.timestamp_ms),
  ], { "data-height": b.height }));
  const wrapped = table(["Height", "Hash", "Txs", "Proposer", "Time (UTC)"], [], { id: "blocks" });
  wrapped.querySelector("tbody").append(...rows);
  return wrapped;
}

function card(name, value, detail) {
  return el("div", { class: "card" },
    el("div", { class: "card-name" }, name),
    el("div", { class: "card-value" }, value),
    detail ? el("div", { class: "card-detail" }, detail) : null);
}

function summaryCards(status, pool) {
  return [
    card("Height", blockLink(status.height), "chain " + status.chain_id),
    card("View", String(status.view), status.changing_view ? "changing view" : "primary: replica " + status.primary),
    card("Validators", link(["validators"], String(status.validators)), status.peers_connected + " peers connected"),
    card("Pool", String(pool.txs) + " txs",
      bytesText(pool.bytes) + " of " + bytesText(pool.max_bytes) +
      (pool.oldest_age_ms === undefined ? "" : ", oldest waits " + ageText(pool.oldest_age_ms))),
    card("This node", status.replica === null ? "not on the roster" : "replica " + status.replica,
      status.catching_up ? "catching up to " + status.target_height : (status.is_primary ? "primary" : "backup")),
  ];
}

function feedLine(event) {
  const at = el("span", { class: "muted" }, new Date().toISOString().slice(11, 19) + " ");
  switch (event.type) {
    case "block":
      return el("li", null, at, "block ", blockLink(event.height), " with " + event.tx_count + " txs (view " + event.view + ")");
    case "tx_committed":
      return el("li", null, at, "tx ", hashLink("tx", event.hash, true), " committed in block ", blockLink(event.height));
    case "tx_dropped":
      return el("li", null, at, "tx ", hashLink("tx", event.hash, true), " dropped: " + event.reason);
    case "view_change":
      return el("li", null, at, "view change " + event.from + " → " + event.to + " (" + event.reason + ")");
    case "new_view":
      return el("li", null, at, "new view " + event.view + ", primary replica " + event.primary);
    case "membership":
      return el("li", null, at, "validator set changed at block ", blockLink(event.height));
    case "lagged":
      return el("li", null, at, "fell behind by " + event.missed + " events; reconnecting");
    default:
      return null;
  }
}

function olderLink(next) {
  return next === undefined ? null : el("p", null, link(["blocks", next], "Older blocks →"));
}

async function viewHome(ctx) {
  const summary = el("div", { class: "cards", id: "summary" });
  const latest = el("div", { id: "latest" });
  const feed = el("ol", { class: "feed", id: "feed" });
  async function fill() {
    const [status, pool, validators, list] = await Promise.all([
      api("/status"),
      api("/pool"),
      api("/validators"),
      api("/blocks?order=desc&limit=" + HOME_BLOCKS),
    ]);
    summary.replaceChildren(...summaryCards(status, pool));
    latest.replaceChildren();
    append(latest, [blocksTable(list.blocks, replicaByKey(validators)), olderLink(list.next)]);
  }
  await fill();
  const refresh = coalesce(() => fill().catch((e) => latest.replaceChildren(failure(e))), 300);
  live.on((event) => {
    if (["block", "new_view", "membership", "resync"].includes(event.type)) refresh();
    const line = feedLine(event);
    if (line) {
      feed.prepend(line);
      while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    }
  });
  return el("div", null,
    summary,
    section("Latest blocks", latest),
    section("Live events", feed, el("p", { class: "muted" }, "As this node hears them; the newest on top.")));
}

// `#/blocks/N`: a page of blocks from height N down.
async function viewBlocks(ctx, from) {
  if (!/^\d{1,20}$/.test(from)) throw new ApiError(400, "bad_request", JSON.stringify(from) + " is not a height");
  const [validators, list] = await Promise.all([
    api("/validators"),
    api("/blocks?order=desc&limit=" + HOME_BLOCKS + "&from=" + enc(from)),
  ]);
  const newer = Number(from) + HOME_BLOCKS;
  return el("div", null,
    el("h1", null, "Blocks from " + from + " down"),
    el("p", null, link([], "← Latest"), " · ", link(["blocks", newer], "Newer")),
    blocksTable(list.blocks, replicaByKey(validators)),
    olderLink(list.next));
}
