// The codeswarm web page: wires the connection (connection.js), the model (model.js) and the
// view (view.js) to the page's controls. Every change is a protocol command; every redraw
// follows an event, batched per animation frame.
import { Connection } from "./connection.js";
import { Model } from "./model.js";
import { el, formatCost, nodeCard, swarmListItem, turnElement, turnShape, updateTurnElement } from "./view.js";

const $ = (id) => document.getElementById(id);
const model = new Model();
let selected = null; // swarm id
let tab = "grid"; // "grid" or a node id
let frameRequested = false;
let refreshTimer = null;
const drawn = new Map(); // key -> {version, element}: what is on screen

const connection = new Connection({
  onEvent(event) {
    model.apply(event);
    if (event.event === "replay_complete") refreshStatus();
    // Costs and node states in swarm_list/swarm_status move with usage: ask again, at most
    // every 2 s.
    if (event.event === "usage" && !refreshTimer) refreshTimer = setTimeout(() => { refreshTimer = null; refreshStatus(); }, 2000);
    scheduleDraw();
  },
  onState(state, detail) {
    const badge = $("connection");
    badge.dataset.state = state;
    badge.textContent = state === "open" ? "connected" : state === "closed" ? `reconnecting… (${detail})` : "connecting…";
  },
});

// swarm_list, and the selected swarm's status: what the events do not carry (created_at,
// system_prompt, node states after a reconnect).
function refreshStatus() {
  connection.send("swarm_list", {}).catch(() => {});
  if (selected) connection.send("swarm_status", { swarm_id: selected }).catch(() => {});
}

function scheduleDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    draw();
  });
}

function draw() {
  const changed = model.changed;
  model.changed = new Set();
  drawSwarmList();
  $("swarm-view").hidden = !selected;
  $("no-selection").hidden = !!selected;
  if (!selected || !model.swarms.has(selected)) return;
  if (changed.has(selected) || changed.has("*") || changed.has("view")) drawSwarm(model.swarms.get(selected));
}

let listSignature = "";

function drawSwarmList() {
  const list = $("swarm-list");
  const swarms = [...model.swarms.values()].sort((a, b) => String(b.created_at ?? b.id).localeCompare(String(a.created_at ?? a.id)));
  // Rebuilt only when what it shows changed: a list redrawn under the pointer loses clicks.
  const signature = JSON.stringify([selected, swarms.map((s) => [s.id, s.status, s.backend_state, s.nodes_connected, s.node_count, s.agent_kind, s.cost_usd, s.estimated_cost_usd, model.runningTurns(s)])]);
  if (signature === listSignature) return;
  listSignature = signature;
  list.replaceChildren(...swarms.map((s) => swarmListItem(model, s, s.id === selected, select)));
  $("no-swarms").hidden = swarms.length > 0;
}

function select(id) {
  selected = id;
  tab = "grid";
  drawn.clear();
  model.changed.add("view");
  connection.send("swarm_status", { swarm_id: id }).catch(() => {});
  scheduleDraw();
}

function drawSwarm(swarm) {
  $("swarm-title").textContent = swarm.id;
  const over = swarm.status === "terminated" || swarm.status === "ended";
  const cost = formatCost(swarm.cost_usd);
  $("swarm-meta").textContent = [swarm.status, swarm.backend_state, swarm.reason, swarm.agent_kind, swarm.model, `${swarm.nodes_connected ?? 0}/${swarm.node_count} nodes connected`, `${model.runningTurns(swarm)} running`, cost ? `≈ ${cost}` : swarm.cost_note].filter(Boolean).join(" · ");
  $("terminate").disabled = over;
  $("interrupt-all").disabled = over;
  $("prompt-form").hidden = over;
  drawApprovals(swarm);
  drawTabs(swarm);
  const nodes = [...swarm.nodes.values()].sort((a, b) => a.id - b.id);
  $("grid").hidden = tab !== "grid";
  $("transcript").hidden = tab === "grid";
  if (tab === "grid") {
    const cards = nodes.map((node) => {
      const last = node.turns[node.turns.length - 1];
      const busy = !!last && (last.status === "running" || last.status === "delivered");
      const card = cached(`card:${node.id}`, `${node.state}|${node.hostname}|${node.reason}|${busy}`,
        () => nodeCard(node, busy, { onInterrupt: (id) => interrupt([id]), onOpen: openTab }));
      const turn = last ? cachedTurn(`card-turn:${node.id}`, last, true)
        : cached(`card-empty:${node.id}`, 0, () => el("div", { class: "empty", text: "no turns yet" }));
      replaceIfDifferent(card.querySelector(".turn-slot"), [turn]);
      return card;
    });
    replaceIfDifferent($("grid"), cards);
  } else {
    const node = swarm.nodes.get(tab);
    if (!node) return;
    const turns = node.turns.map((turn) => cachedTurn(`turn:${node.id}`, turn, false));
    const box = $("transcript");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    replaceIfDifferent(box, turns.length ? turns : [el("p", { class: "empty", text: "no turns yet" })]);
    if (atBottom) box.scrollTop = box.scrollHeight;
  }
}

function cached(key, version, build) {
  const hit = drawn.get(key);
  if (hit && hit.version === version) return hit.element;
  const element = build();
  drawn.set(key, { version, element });
  return element;
}

// A turn's element: rebuilt when its shape changed, else only its streaming text updated.
function cachedTurn(prefix, turn, compact) {
  const key = `${prefix}:${turn.injection_id}`;
  const hit = drawn.get(key);
  if (hit && hit.rev === turn.rev) return hit.element;
  const shape = turnShape(turn);
  if (hit && hit.shape === shape) {
    updateTurnElement(hit.element, turn, compact);
  } else {
    drawn.set(key, { shape, element: turnElement(turn, { compact, onApprove: approve }) });
  }
  drawn.get(key).rev = turn.rev;
  return drawn.get(key).element;
}

function replaceIfDifferent(parent, children) {
  const same = parent.children.length === children.length && children.every((c, i) => parent.children[i] === c);
  if (!same) parent.replaceChildren(...children);
}

let tabsSignature = "";

function drawTabs(swarm) {
  const signature = `${swarm.id}|${swarm.nodes.size}|${tab}`;
  if (signature === tabsSignature) return;
  tabsSignature = signature;
  const tabs = [["grid", "Grid"], ...[...swarm.nodes.keys()].sort((a, b) => a - b).map((id) => [id, `Node ${id}`])];
  $("tabs").replaceChildren(...tabs.map(([id, label]) => el("button", { role: "tab", "aria-selected": String(id === tab), "data-tab": id, onclick: () => openTab(id), text: label })));
}

function drawApprovals(swarm) {
  const pending = model.pendingApprovals(swarm);
  const box = $("approvals");
  box.hidden = pending.length === 0;
  box.replaceChildren(...pending.map(({ node, approval }) => el("div", { class: "approval" },
    el("span", { text: `node ${node.id} asks (${approval.kind ?? "request"}):` }),
    el("code", { text: approval.subject ?? "" }),
    el("button", { class: "accept", onclick: () => approve(approval, "accept"), text: "Accept" }),
    el("button", { class: "decline", onclick: () => approve(approval, "decline"), text: "Decline" }))));
}

function openTab(id) {
  tab = id;
  model.changed.add("view");
  scheduleDraw();
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 6000);
}

// "all", "3", "0,2,5", "4-7", "0,2,4-7" -> "all" | integer | list of integers.
export function parseNodes(text) {
  const spec = text.trim();
  if (spec === "" || spec === "all") return "all";
  const ids = [];
  for (const part of spec.split(",")) {
    const m = part.trim().match(/^(\d+)(?:\s*-\s*(\d+))?$/);
    if (!m) throw new Error(`nodes: "${part.trim()}" is not a node, a list or a range (e.g. all, 3, 0,2,5 or 4-7)`);
    const from = Number(m[1]), to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`nodes: the range ${from}-${to} goes backwards`);
    for (let id = from; id <= to; id++) if (!ids.includes(id)) ids.push(id);
  }
  return ids.length === 1 ? ids[0] : ids;
}

function sendPrompt() {
  const content = $("prompt").value;
  if (!selected || content.trim() === "") return;
  let nodes;
  try {
    nodes = parseNodes($("prompt-nodes").value);
  } catch (error) {
    return toast(error.message);
  }
  connection.send("inject", { swarm_id: selected, nodes, content }, (id) => model.sentPrompts.set(id, content))
    .then(() => ($("prompt").value = ""))
    .catch((error) => toast(`inject: ${error.message}`));
}

function interrupt(nodes) {
  connection.send("interrupt", { swarm_id: selected, nodes }).catch((error) => toast(`interrupt: ${error.message}`));
}

function approve(approval, decision) {
  connection.send("approval_decide", { swarm_id: approval.swarm_id, node_id: approval.node_id, approval_id: approval.approval_id, decision })
    .catch((error) => toast(`approval: ${error.message}`));
}

function launchPayload(form) {
  const value = (name) => form.elements[name].value.trim();
  const payload = { nodes: Number(value("nodes")) };
  if (value("system_prompt")) payload.system_prompt = form.elements.system_prompt.value;
  const kind = value("kind");
  if (!kind) return payload;
  const settings = {};
  const put = (key, convert = (v) => v) => {
    const box = form.elements[key].closest("fieldset");
    if (value(key) && box.dataset.kinds.split(" ").includes(kind)) settings[key] = convert(value(key));
  };
  put("model");
  put("approval_decision");
  put("sandbox");
  put("base_url");
  put("chunks", Number);
  put("chunk_delay_ms", Number);
  payload.agent = { kind, [kind]: settings };
  return payload;
}

function showKindFields() {
  const kind = $("launch-form").elements.kind.value;
  for (const box of $("launch-form").querySelectorAll("fieldset[data-kinds]")) box.hidden = !box.dataset.kinds.split(" ").includes(kind);
}

function wire() {
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendPrompt();
    }
  });
  $("prompt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendPrompt();
  });
  $("interrupt-all").addEventListener("click", () => interrupt("all"));
  $("launch-open").addEventListener("click", () => {
    $("launch-error").hidden = true;
    showKindFields();
    $("launch-dialog").showModal();
  });
  $("launch-cancel").addEventListener("click", () => $("launch-dialog").close());
  $("launch-form").elements.kind.addEventListener("change", showKindFields);
  $("launch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    connection.send("swarm_launch", launchPayload(event.target))
      .then((answer) => {
        $("launch-dialog").close();
        select(answer.data.swarm_id);
      })
      .catch((error) => {
        $("launch-error").textContent = error.message;
        $("launch-error").hidden = false;
      });
  });
  $("terminate").addEventListener("click", () => {
    $("confirm-text").textContent = `Terminate swarm ${selected}? Its job is stopped and its running turns are interrupted.`;
    $("confirm-dialog").showModal();
  });
  $("confirm-cancel").addEventListener("click", () => $("confirm-dialog").close());
  $("confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("confirm-dialog").close();
    connection.send("swarm_terminate", { swarm_id: selected }).catch((error) => toast(`terminate: ${error.message}`));
  });
}

wire();
connection.start();
