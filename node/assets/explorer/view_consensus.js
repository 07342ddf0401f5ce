// `#/consensus`: the replica's protocol state: the log's watermarks, the last
// stable checkpoint and who signed it, view changes and recoveries by reason,
// a recovery's progress, and the evidence of faults this node holds.

// The reasons counted so far (the node lists every reason, most at zero).
function countsTable(counts, id) {
  const entries = Object.entries(counts || {}).filter(([, n]) => n > 0);
  if (entries.length === 0) return el("p", { class: "muted", id }, "None.");
  return table(["Reason", "Count"], entries.map(([reason, n]) => [reason, String(n)]), { id });
}

function recoveryView(recovery, status) {
  if (!recovery) return el("p", { id: "recovery" }, "Not recovering.");
  const target = recovery.target_height;
  const progress = target === null || target === undefined
    ? el("span", { class: "muted" }, "target not chosen yet")
    : [el("progress", { max: Math.max(target, 1), value: Math.min(status.height, target) }),
      " height " + status.height + " of " + target];
  return el("div", { id: "recovery" }, facts([
    ["Why", recovery.reason],
    ["Phase", recovery.phase],
    ["Round", String(recovery.round)],
    ["Progress", progress],
  ]));
}

async function evidenceView() {
  const page = await apiIfServed("/evidence?limit=20");
  if (page === null) return el("p", { id: "evidence", class: "muted" }, "Evidence: not available on this node.");
  if (page.evidence.length === 0) return el("p", { id: "evidence", class: "muted" }, "No evidence of faults.");
  return table(["#", "Kind", "Accused", "View", "Sequence", "Detected (UTC)"], page.evidence.map((e) => [
    String(e.id), e.kind, "replica " + e.accused, String(e.view), String(e.seq), timeText(e.detected_at_ms),
  ]), { id: "evidence" });
}

async function consensusPage() {
  const [state, status, checkpoint] = await Promise.all([api("/consensus"), api("/status"), api("/checkpoints/latest")]);
  let evidence;
  try {
    evidence = await evidenceView();
  } catch (e) {
    evidence = failure(e);
  }
  const inFlight = state.in_flight.length === 0 ? "none"
    : state.in_flight.length + " (" + state.in_flight[0] + " to " + state.in_flight[state.in_flight.length - 1] + ")";
  return el("div", null,
    el("h1", null, "Consensus"),
    facts([
      ["View", String(state.view)],
      ["Primary", "replica " + state.primary],
      ["Changing view", state.changing_view ? "yes" : "no"],
      ["Last committed", blockLink(state.last_committed)],
      ["Low watermark", el("span", { id: "low-watermark" }, String(state.low_watermark))],
      ["High watermark", el("span", { id: "high-watermark" }, String(state.high_watermark))],
      ["Heights in the log", inFlight],
    ]),
    section("Last stable checkpoint", facts([
      ["Height", el("span", { id: "checkpoint" }, state.stable_checkpoint === null ? "none yet" : String(state.stable_checkpoint))],
      ["Block", checkpoint.height > 0 ? hashLink("block", checkpoint.block_hash, true) : "genesis"],
      ["Signed by", checkpoint.signers.length ? checkpoint.signers.map((r) => "replica " + r).join(", ") : "–"],
    ])),
    section("View changes by reason", countsTable(state.view_changes, "view-changes")),
    section("Recovery", recoveryView(state.recovery, status),
      el("h3", null, "Recoveries by reason"), countsTable(state.recoveries, "recoveries")),
    section("Evidence of faults", evidence));
}

async function viewConsensus(ctx) {
  const page = await consensusPage();
  const refresh = coalesce(() => consensusPage().then(ctx.put, (e) => ctx.put(failure(e))), 1000);
  live.on((event) => {
    if (["block", "view_change", "new_view", "membership", "resync"].includes(event.type)) refresh();
  });
  return page;
}
