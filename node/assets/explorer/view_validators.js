// `#/validators`: the validator set, the view and its primary, and which peers
// this node is connected to.

async function validatorsPage() {
  const [validators, status, peers] = await Promise.all([api("/validators"), api("/status"), api("/peers")]);
  const connected = new Map(peers.peers.map((p) => [p.replica, p.connected]));
  const rows = validators.validators.map((v) => {
    let role = v.replica === status.primary ? "primary" : "backup";
    if (v.replica === status.replica) role += " (this node)";
    const peer = v.replica === status.replica ? "–" : (connected.get(v.replica) ? "connected" : "not connected");
    return tableRow([
      String(v.replica),
      el("span", { class: v.replica === status.primary ? "badge primary" : "badge" }, role),
      accountLink(v.address, true),
      mono(v.public_key, true),
      v.p2p_addr,
      blockLink(v.since),
      peer,
    ]);
  });
  const list = table(["Replica", "Role", "Address", "Public key", "Address (p2p)", "Since", "Link"], [], { id: "validators" });
  list.querySelector("tbody").append(...rows);
  const pending = validators.pending.map((p) => el("li", null,
    "authorised at block ", blockLink(p.authorised_at), ", in force from height " + p.from_height + ": " +
    p.validators.map((v) => "replica " + v.replica).join(", ") + " (f = " + p.f + ", quorum " + p.quorum + ")"));
  return el("div", null,
    el("h1", null, "Validators"),
    facts([
      ["View", el("span", { id: "view" }, String(status.view))],
      ["Primary", el("span", { id: "primary" }, "replica " + status.primary)],
      ["Changing view", status.changing_view ? "yes" : "no"],
      ["Faults tolerated (f)", String(validators.f)],
      ["Quorum", String(validators.quorum)],
      ["Set in force since height", String(validators.since_height)],
    ]),
    list,
    section("Pending changes", pending.length ? el("ul", null, pending) : el("p", { class: "muted" }, "None.")));
}

async function viewValidators(ctx) {
  const page = await validatorsPage();
  const refresh = coalesce(() => validatorsPage().then(ctx.put, (e) => ctx.put(failure(e))), 1000);
  live.on((event) => {
    if (["new_view", "view_change", "membership", "resync"].includes(event.type)) refresh();
  });
  return page;
}
