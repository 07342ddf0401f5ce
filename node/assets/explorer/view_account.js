// `#/account/ADDRESS`: balance, nonces and history. The API answers zeros for an
// address no transaction has touched; the page says "not found" for it. History
// comes from `/accounts/{address}/txs`, newest first (a node of an older version
// answers 404 and the page says the history is not available).

const HISTORY_PAGE = 20;

function historyTable(address, txs) {
  const rows = txs.map((t) => {
    if (t.kind !== "transfer") {
      // Governance: signed by the admin's account, no counterparty or amount.
      return [blockLink(t.height), hashLink("tx", t.hash, true), t.kind.replace("_", " "), "", "", String(t.nonce), timeText(t.timestamp_ms)];
    }
    const out = t.from === address;
    return [
      blockLink(t.height),
      hashLink("tx", t.hash, true),
      out ? "out" : "in",
      accountLink(out ? t.to : t.from, true),
      (out ? "−" : "+") + t.amount,
      String(t.nonce),
      timeText(t.timestamp_ms),
    ];
  });
  return table(["Block", "Transaction", "", "Counterparty", "Amount", "Nonce", "Time (UTC)"], rows, { id: "history" });
}

async function historyView(address, before) {
  const query = "?limit=" + HISTORY_PAGE + (before === undefined ? "" : "&before=" + enc(before));
  const page = await apiIfServed("/accounts/" + enc(address) + "/txs" + query);
  if (page === null) {
    return el("p", { id: "history-missing", class: "muted" }, "History: not available on this node.");
  }
  if (page.txs.length === 0) {
    return el("p", { class: "muted" }, before === undefined ? "No transactions." : "No older transactions.");
  }
  const box = el("div", null, historyTable(address, page.txs));
  if (page.next !== undefined && page.next !== null) {
    box.append(el("p", null, el("button", {
      type: "button",
      onclick: () => historyView(address, page.next).then((next) => box.replaceWith(next), (e) => box.replaceWith(failure(e))),
    }, "Older →")));
  }
  return box;
}

async function accountPage(address) {
  const account = await api("/accounts/" + enc(address));
  if (account.balance === 0 && account.nonce === 0 && account.pending_nonce === 0) {
    throw new ApiError(404, "not_found", "no transaction has touched address " + account.address);
  }
  let history;
  try {
    history = await historyView(account.address);
  } catch (e) {
    history = failure(e);
  }
  return el("div", null,
    el("h1", null, "Account"),
    facts([
      ["Address", mono(account.address)],
      ["Balance", el("span", { id: "balance" }, String(account.balance))],
      ["Next nonce", String(account.nonce)],
      ["Next nonce counting the pool", String(account.pending_nonce)],
    ]),
    section("History", history));
}

async function viewAccount(ctx, address) {
  const page = await accountPage(address);
  const refresh = coalesce(() => accountPage(address).then(ctx.put, (e) => ctx.put(failure(e))), 1000);
  live.on((event) => {
    if (event.type === "block" || event.type === "resync") refresh();
  });
  return page;
}
