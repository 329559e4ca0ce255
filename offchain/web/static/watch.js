// pofl watch: the page. The state so far from GET api/state, then server-sent events from api/events
// ("state": a snapshot, "update": the rounds and blocks that changed). No library: the curve is SVG drawn here.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const W = 1000, H = 380, M = {l: 52, r: 18, t: 18, b: 40};
const S = {header: null, rounds: new Map(), blocks: new Map(), seq: -1, serverLost: false, loaded: false,
           seenBlocks: new Set()};

const $ = (sel) => document.querySelector(sel);
const frac = (bps) => (bps === null || bps === undefined ? "–" : (bps / 10000).toFixed(4));
const fracOf = (x, sign) => (x === null || x === undefined ? "–" : (sign && x >= 0 ? "+" : "") + x.toFixed(4));
const eth = (wei) => `${(Number(wei) / 1e18).toPrecision(3).replace(/\.?0+$/, "")} ETH`;
const mgas = (gas) => (gas ? `${(gas / 1e6).toFixed(2)}M` : "–");
const short = (a) => (a && a.length > 14 ? `${a.slice(0, 8)}…${a.slice(-4)}` : a || "");

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(address) {
  const m = (S.header?.miners || []).find((x) => x.address === address);
  return m ? m.label : short(address);
}

// ------------------------------------------------------------------ state

function setHeader(h) {
  const {rounds, blocks, ...header} = h;
  S.header = header;
  S.seq = h.seq;
}

function applySnapshot(snap) {
  S.rounds = new Map(snap.rounds.map((r) => [r.round, r]));
  S.blocks = new Map(snap.blocks.map((b) => [b.height, b]));
  setHeader(snap);
  S.loaded = true;
  render();
}

function applyDelta(delta) {
  if (delta.seq <= S.seq) return;  // older than the snapshot shown
  for (const r of delta.rounds) S.rounds.set(r.round, r);
  for (const b of delta.blocks) S.blocks.set(b.height, b);
  setHeader(delta);
  render();
}

// ------------------------------------------------------------------ rendering

function render() {
  const h = S.header;
  if (!h) return;
  document.body.classList.toggle("holdout-mode", Boolean(h.holdout));
  $("#contract").textContent = `PoFLConsensus ${h.contract} · chain ${h.chain_id} · ` +
    (h.holdout ? `hold-out task ${short(h.holdout)}` : "public evaluation");
  renderLink();
  renderNow();
  renderHead();
  drawCurve();
  renderBlocks();
  renderRounds();
  window.poflWatch = {seq: S.seq, blocks: S.blocks.size - (S.blocks.has(0) ? 1 : 0), rounds: S.rounds.size};
}

function renderLink() {
  const node = $("#link");
  const link = S.header?.link || {};
  let text, cls;
  if (S.serverLost) {
    [text, cls] = ["lost the watch server: reconnecting…", "lost"];
  } else if (link.connected === false) {
    [text, cls] = [`${link.error} — retrying`, "down"];
  } else if (link.latest !== null && link.cursor !== null && link.cursor < link.latest) {
    [text, cls] = [`catching up: block ${link.cursor} of ${link.latest}`, "behind"];
  } else if (link.connected) {
    [text, cls] = [`live · chain block ${link.latest}`, "ok"];
  } else {
    [text, cls] = ["reading the chain so far…", ""];
  }
  node.textContent = text;
  node.className = `link ${cls}`;
}

function renderNow() {
  const p = S.header.phase;
  if (!p) return;
  const round = S.rounds.get(p.round);
  $("#phase").textContent = `round ${p.round} · ${p.phase.toLowerCase()}`;
  document.title = `PoFL watch · round ${p.round}`;
  const claims = round ? round.claims : [];
  const v = round && round.validations.length ? round.validations[round.validations.length - 1] : null;
  const parts = [`${claims.length} committed`, `${claims.filter((c) => c.revealed).length} revealed`];
  if (v) parts.push(`validating ${label(v.candidate)}'s ${frac(v.claimed_bps)}: ` +
                    `${Object.keys(v.reports).length}${v.seats ? ` of ${v.seats}` : ""} reports`);
  $("#progress").textContent = parts.join(" · ");
  renderCountdown();
}

function renderCountdown() {
  const p = S.header && S.header.phase;
  if (!p) return;
  const node = $("#countdown");
  if (!p.deadline) {
    node.textContent = p.phase === "COMMIT" ? "no deadline yet: the clock starts at the first commit"
                                            : "no deadline yet";
    return;
  }
  const left = Math.round(p.deadline - (Date.now() / 1000 + (p.offset || 0)));
  node.textContent = left >= 0 ? `${left} s left (deadline ${new Date(p.deadline * 1000).toLocaleTimeString()})`
                               : `deadline passed ${-left} s ago: the next transaction moves the round on`;
}

function renderHead() {
  const blocks = [...S.blocks.values()].filter((b) => b.height > 0);
  const head = blocks.reduce((a, b) => (a && a.height > b.height ? a : b), null);
  $("#head").textContent = head ? `block ${head.height} · ${frac(head.accuracy_bps)}` : "genesis only";
  const miners = S.header.miners.filter((m) => !m.departed).length;
  const gone = S.header.miners.length - miners;
  const genesis = S.blocks.get(0);
  const thr = S.header.thresholds.length ? S.header.thresholds[S.header.thresholds.length - 1][1] : null;
  $("#summary").textContent = `${blocks.length} blocks · ${miners} miners` + (gone ? ` (${gone} gone)` : "") +
    ` · threshold ${frac(thr)}`;
  $("#summary").title = genesis ? `genesis model ${genesis.cid}` : "";
}

function thresholdAt(round) {
  let bps = null;
  for (const [from, value] of S.header.thresholds) if (from <= round) bps = value;
  return bps;
}

function claimClass(c) {
  const outcome = {ACCEPTED: "accepted", REJECTED: "rejected", DISPUTED: "disputed", NO_QUORUM: "no-quorum",
                   UNIMPROVED: "unimproved"}[c.outcome];
  return outcome || (c.eligible === false ? "ineligible" : "pending");
}

function drawCurve() {
  const svg = $("#curve");
  svg.replaceChildren();
  const rounds = [...S.rounds.keys()];
  const maxRound = Math.max(1, S.header.phase ? S.header.phase.round : 0, ...rounds);
  const slot = (W - M.l - M.r) / maxRound;
  const x = (r) => M.l + (r - 0.5) * slot;
  const y = (a) => M.t + (1 - a) * (H - M.t - M.b);
  // the round open now, grid, axes
  if (S.header.phase) svg.append(el("svg:rect", {class: "now-band", x: x(S.header.phase.round) - slot / 2, y: M.t,
                                                 width: slot, height: H - M.t - M.b}));
  for (let i = 0; i <= 10; i += 2) {
    svg.append(el("svg:line", {class: "grid", x1: M.l, x2: W - M.r, y1: y(i / 10), y2: y(i / 10)}));
    svg.append(el("svg:text", {class: "tick", x: M.l - 8, y: y(i / 10) + 4, "text-anchor": "end"}, (i / 10).toFixed(1)));
  }
  svg.append(el("svg:line", {class: "axis", x1: M.l, x2: W - M.r, y1: y(0), y2: y(0)}));
  svg.append(el("svg:line", {class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: y(0)}));
  const step = Math.max(1, Math.ceil(maxRound / 15));
  for (let r = 1; r <= maxRound; r += step) {
    svg.append(el("svg:text", {class: "tick", x: x(r), y: y(0) + 16, "text-anchor": "middle"}, String(r)));
  }
  svg.append(el("svg:text", {class: "axis-label", x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle"}, "round"));
  svg.append(el("svg:text", {class: "axis-label", x: 14, y: (M.t + y(0)) / 2, "text-anchor": "middle",
                             transform: `rotate(-90 14 ${(M.t + y(0)) / 2})`}, "accuracy"));
  // the threshold, a step per configuration
  let path = "";
  for (let r = 1; r <= maxRound; r++) {
    const t = thresholdAt(r);
    if (t === null) continue;
    path += `${path ? "L" : "M"}${x(r) - slot / 2},${y(t / 10000)} L${x(r) + slot / 2},${y(t / 10000)} `;
  }
  if (path) svg.append(el("svg:path", {class: "threshold", d: path}));
  // every claim: a dot (a cross when rejected, a diamond when disputed, a ring when slashed)
  for (const round of [...S.rounds.values()].sort((a, b) => a.round - b.round)) {
    const claims = round.claims.filter((c) => c.accuracy_bps !== null);
    claims.forEach((c, i) => {
      const cx = x(round.round) + (i - (claims.length - 1) / 2) * Math.min(7, slot / (claims.length + 1));
      const cy = y(c.accuracy_bps / 10000);
      const cls = claimClass(c);
      let shape;
      if (cls === "rejected") {
        shape = el("svg:path", {d: `M${cx - 4},${cy - 4} L${cx + 4},${cy + 4} M${cx + 4},${cy - 4} L${cx - 4},${cy + 4}`});
      } else if (cls === "disputed") {
        shape = el("svg:path", {d: `M${cx},${cy - 5} L${cx + 5},${cy} L${cx},${cy + 5} L${cx - 5},${cy} Z`});
      } else {
        shape = el("svg:circle", {cx, cy, r: 3.5});
      }
      shape.setAttribute("class", `claim ${cls}${c.slashed_wei > 0 ? " slashed" : ""}`);
      shape.dataset.round = round.round;
      shape.dataset.miner = c.miner;
      shape.append(el("svg:title", {}, `round ${round.round}: ${c.label} claimed ${frac(c.accuracy_bps)}` +
        (c.outcome ? ` — ${c.outcome.toLowerCase()}` : "") + (c.median_bps !== null ? `, median ${frac(c.median_bps)}` : "") +
        (c.reused_from !== null ? ` (model of round ${c.reused_from})` : "") +
        (c.slashed_wei > 0 ? `, slashed ${eth(c.slashed_wei)}` : "")));
      svg.append(shape);
      if (c.slashed_wei > 0) svg.append(el("svg:circle", {class: "slash-ring", cx, cy, r: 7.5}));
    });
  }
  // the chain: the latest block's accuracy after every round, from the first block on
  const blocks = [...S.blocks.values()].filter((b) => b.height > 0).sort((a, b) => a.height - b.height);
  if (blocks.length) {
    const points = [];
    let i = 0, head = null;
    for (let r = blocks[0].round; r <= maxRound; r++) {
      while (i < blocks.length && blocks[i].round <= r) head = blocks[i++];
      points.push(`${x(r) - (r === blocks[0].round ? 0 : slot / 2)},${y(head.accuracy_bps / 10000)}`,
                  `${x(r) + slot / 2},${y(head.accuracy_bps / 10000)}`);
    }
    svg.append(el("svg:polyline", {class: "chain-line", points: points.join(" ")}));
  }
  for (const b of blocks) {
    const dot = el("svg:circle", {class: "block", cx: x(b.round), cy: y(b.accuracy_bps / 10000), r: 5.5,
                                  "data-height": b.height, "data-round": b.round});
    dot.append(el("svg:title", {}, `block ${b.height} (round ${b.round}) by ${b.winner}: ${frac(b.accuracy_bps)}`));
    svg.append(dot);
    svg.append(el("svg:text", {class: "block-label", x: x(b.round), y: y(b.accuracy_bps / 10000) - 9,
                               "text-anchor": "middle"}, `#${b.height}`));
    if (b.final_accuracy !== undefined && b.final_accuracy !== null) {
      svg.append(el("svg:rect", {class: "final", x: x(b.round) + 6, y: y(b.final_accuracy) - 4, width: 8, height: 8}));
    }
  }
}

function cell(tr, text, cls, title) {
  const td = el("td", {class: cls, title}, text);
  tr.append(td);
  return td;
}

function renderBlocks() {
  const tbody = $("#blocks tbody");
  tbody.replaceChildren();
  const blocks = [...S.blocks.values()].filter((b) => b.height > 0).sort((a, b) => b.height - a.height);
  for (const b of blocks) {
    const tr = el("tr", {"data-height": b.height});
    if (S.loaded && S.seenBlocks.size && !S.seenBlocks.has(b.height)) tr.classList.add("new");
    cell(tr, String(b.height), "num");
    cell(tr, String(b.round), "num");
    cell(tr, b.winner, "", b.miner);
    cell(tr, frac(b.claimed_bps), "num");
    cell(tr, frac(b.median_bps ?? b.accuracy_bps), "num");
    cell(tr, b.cid, "cid");
    cell(tr, b.seats === null ? "–" : `${b.seats} seats`, "num");
    cell(tr, b.reports === null ? "–" : String(b.reports), "num");
    cell(tr, mgas(b.gas), "num");
    cell(tr, fracOf(b.final_accuracy), "num holdout", b.final_error || undefined);
    cell(tr, fracOf(b.gap, true), "num holdout");
    tbody.append(tr);
  }
  S.seenBlocks = new Set(blocks.map((b) => b.height));
  const note = $("#final-note");
  note.hidden = !S.header.holdout;
  if (S.header.holdout) {
    const f = S.header.final;
    note.textContent = !f ? "hold-out task: final-shard accuracies appear once the requester ends the task"
                     : f.error ? f.error : "the task has ended: every block measured on the final shard (final, gap)";
  }
  $("#legend-final").hidden = !(S.header.final && S.header.final.rows);
}

function renderRounds() {
  const tbody = $("#rounds tbody");
  tbody.replaceChildren();
  for (const r of [...S.rounds.values()].sort((a, b) => b.round - a.round)) {
    const tr = el("tr", {"data-round": r.round});
    cell(tr, String(r.round), "num");
    cell(tr, r.block !== null ? `block ${r.block}` : r.failed ? `no block: ${r.failed.toLowerCase().replaceAll("_", " ")}`
                                                              : "open");
    const claims = el("td", {class: "wrap"});
    for (const c of r.claims) {
      const cls = claimClass(c);
      const chip = el("span", {class: `chip ${cls}${c.slashed_wei > 0 ? " slashed" : ""}`, "data-miner": c.miner},
        `${c.label} ${c.revealed ? frac(c.accuracy_bps) : "committed"}` +
        (c.outcome && c.outcome !== "ACCEPTED" ? ` ${c.outcome.toLowerCase().replaceAll("_", " ")}` : "") +
        (c.outcome === "ACCEPTED" ? " ✓" : "") + (c.slashed_wei > 0 ? ` · slashed ${eth(c.slashed_wei)}` : "") +
        (c.reused_from !== null ? " · reused" : ""));
      claims.append(chip);
    }
    tr.append(claims);
    cell(tr, r.validations.map((v) => `${v.candidate_label} ${frac(v.claimed_bps)}: ` +
      `${v.report_count ?? Object.keys(v.reports).length}${v.seats ? `/${v.seats}` : ""} reports` +
      (v.median_bps !== null ? `, median ${frac(v.median_bps)}` : "") +
      (v.parent_bps !== null ? `, parent ${frac(v.parent_bps)}` : "") +
      (v.outcome ? ` → ${v.outcome.toLowerCase().replaceAll("_", " ")}` : "")).join("; ") || "–", "wrap");
    cell(tr, r.penalties.map((p) => `${p.label} ${p.reason.toLowerCase().replaceAll("_", " ")} ${eth(p.wei)}`)
      .join("; ") || "–", "wrap");
    cell(tr, mgas(r.gas), "num");
    tbody.append(tr);
  }
}

// ------------------------------------------------------------------ the stream

function connect() {
  const source = new EventSource("api/events");
  source.addEventListener("state", (e) => { S.serverLost = false; applySnapshot(JSON.parse(e.data)); });
  source.addEventListener("update", (e) => { S.serverLost = false; applyDelta(JSON.parse(e.data)); });
  source.addEventListener("error", () => {
    S.serverLost = true;
    renderLink();
    if (source.readyState === EventSource.CLOSED) {  // the browser gave up: open a new one
      source.close();
      setTimeout(connect, 2000);
    }
  });
}

async function start() {
  try {
    const answer = await fetch("api/state", {cache: "no-store"});
    if (answer.ok) applySnapshot(await answer.json());
  } catch (_) {
    S.serverLost = true;
    renderLink();
  }
  connect();
  setInterval(renderCountdown, 250);
}

start();
