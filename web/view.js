// Draws the model (model.js). Only what changed is redrawn, once per animation frame: a node's
// card when its version moved, a turn when its revision moved. Text an agent wrote goes in as
// text (textContent) while it streams, and through the Markdown renderer (markdown.js), which
// never parses HTML, once the answer is final.
import { renderMarkdown } from "./markdown.js";

export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") element.textContent = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.filter((c) => c !== null && c !== undefined));
  return element;
}

export function formatCost(usd) {
  if (typeof usd !== "number") return null;
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function swarmListItem(model, swarm, selected, onSelect) {
  const cost = formatCost(swarm.cost_usd);
  return el("li", { class: `swarm ${selected ? "selected" : ""}`, "data-swarm": swarm.id },
    el("button", { class: "swarm-pick", onclick: () => onSelect(swarm.id) },
      el("span", { class: "swarm-id", text: swarm.id }),
      el("span", { class: `badge status-${swarm.status}`, text: swarm.status }),
      el("span", { class: "swarm-facts", text: [
        `${swarm.nodes_connected ?? 0}/${swarm.node_count ?? "?"} nodes connected`,
        `${model.runningTurns(swarm)} running`,
        swarm.backend ? `${swarm.backend}${swarm.backend_state ? " " + swarm.backend_state : ""}` : null,
        swarm.model ? `${swarm.agent_kind} ${swarm.model}` : swarm.agent_kind,
        cost ? `≈ ${cost}` : null,
      ].filter(Boolean).join(" · ") })));
}

// A grid card shows the end of a streaming answer only: laying out all of 16 long answers in
// every frame is what would make the page slow.
const CARD_TAIL = 1200;

function streamingText(turn, compact) {
  return compact && turn.text.length > CARD_TAIL ? "…" + turn.text.slice(-CARD_TAIL) : turn.text;
}

// What a turn's element shows apart from the streaming text: when only the text moved, the
// element is updated in place (updateTurnElement) instead of rebuilt.
export function turnShape(turn) {
  return `${turn.status}|${turn.prompt !== null}|${turn.approvals.length}|${turn.approvals.map((a) => a.decision ?? "").join()}|${turn.answer !== null}|${turn.error ?? ""}|${turn.usage !== null}|${turn.text !== ""}`;
}

// Puts the turn's new streaming text into `element` (built by turnElement for the same shape).
export function updateTurnElement(element, turn, compact) {
  const streaming = element.querySelector(".answer.streaming");
  if (streaming) streaming.textContent = streamingText(turn, compact);
}

// One turn of a node's transcript.
export function turnElement(turn, { compact = false, onApprove } = {}) {
  const box = el("article", { class: `turn turn-${turn.status}`, "data-injection": turn.injection_id, "data-status": turn.status });
  const head = el("header", {},
    el("span", { class: `badge status-${turn.status}`, text: turn.status }),
    el("span", { class: "turn-id", text: turn.injection_id }));
  box.append(head);
  if (!compact || turn.prompt) {
    box.append(el("div", { class: "prompt", text: turn.prompt ?? "(prompt sent from another client)" }));
  }
  for (const approval of turn.approvals) box.append(approvalElement(approval, onApprove));
  if (turn.answer !== null && turn.status !== "running") {
    const answer = renderMarkdown(turn.answer);
    answer.classList.add("answer");
    box.append(answer);
  } else if (turn.text) {
    box.append(el("div", { class: "answer streaming", text: streamingText(turn, compact) }));
  }
  if (turn.error) box.append(el("div", { class: "error", role: "alert", text: turn.error }));
  if (turn.usage && !compact) box.append(usageElement(turn.usage));
  return box;
}

function usageElement(usage) {
  const parts = [`${usage.input_tokens ?? 0} in`];
  if (usage.cached_input_tokens) parts.push(`${usage.cached_input_tokens} cached`);
  parts.push(`${usage.output_tokens ?? 0} out`);
  if (usage.reasoning_output_tokens) parts.push(`${usage.reasoning_output_tokens} reasoning`);
  const cost = formatCost(usage.cost_usd);
  if (cost) parts.push(`≈ ${cost}`);
  else if (usage.cost_note) parts.push(`no cost: ${usage.cost_note}`);
  return el("div", { class: "usage", text: `tokens: ${parts.join(", ")}` });
}

// An approval: decided by the policy (`approval`), or waiting for a person (`approval_request`,
// with accept/decline buttons that send approval_decide).
function approvalElement(approval, onApprove) {
  const box = el("div", { class: "approval" },
    el("span", { class: "approval-kind", text: `approval (${approval.kind ?? "request"})` }),
    el("code", { text: approval.subject ?? "" }));
  if (approval.decision) {
    const by = approval.decided_by ? ` (${approval.decided_by})` : "";
    box.append(el("span", { class: `badge decision-${approval.decision}`, text: approval.decision + by }));
    if (approval.reason) box.append(el("span", { class: "approval-reason", text: approval.reason }));
  } else if (approval.event === "approval_request" && onApprove) {
    if (approval.timeout_seconds) box.append(el("span", { class: "approval-reason", text: `declined after ${approval.timeout_seconds} s unless decided` }));
    box.append(
      el("button", { class: "accept", onclick: () => onApprove(approval, "accept"), text: "Accept" }),
      el("button", { class: "decline", onclick: () => onApprove(approval, "decline"), text: "Decline" }));
  }
  return box;
}

// A node's card in the grid: its state and a slot (".turn-slot") for its latest turn, which the
// caller fills, so that a streaming turn is redrawn without the card's buttons.
export function nodeCard(node, busy, { onInterrupt, onOpen }) {
  return el("section", { class: `node-card state-${node.state}`, "data-node": node.id, "data-state": node.state },
    el("header", {},
      el("button", { class: "node-open", onclick: () => onOpen(node.id), text: `node ${node.id}` }),
      el("span", { class: `badge state-${node.state}`, text: node.state }),
      el("span", { class: "host", text: node.hostname }),
      el("button", { class: "interrupt", disabled: !busy, onclick: () => onInterrupt(node.id), text: "Interrupt" })),
    node.reason ? el("div", { class: "error", text: node.reason }) : null,
    el("div", { class: "turn-slot" }));
}
