// What the page knows, built only from protocol events (docs/PROTOCOL.md): swarms, their nodes
// and each node's transcript of turns. Pure data; view.js draws it. `changed` collects what to
// redraw so that many events in one animation frame cost one redraw.

const PROMPTS_KEY = "codeswarm.prompts"; // injection_id -> prompt, for prompts sent from here

export class Model {
  constructor() {
    this.swarms = new Map();
    this.changed = new Set(); // swarm ids, or "*" for the swarm list
    this.prompts = loadPrompts();
    this.sentPrompts = new Map(); // request_id of an inject sent from here -> its prompt
  }

  swarm(id) {
    let swarm = this.swarms.get(id);
    if (!swarm) {
      swarm = { id, status: "launching", node_count: 0, nodes_connected: 0, nodes: new Map(), backend_state: "", reason: "" };
      this.swarms.set(id, swarm);
    }
    return swarm;
  }

  node(swarm, nodeId) {
    let node = swarm.nodes.get(nodeId);
    if (!node) {
      node = { id: nodeId, state: "waiting", reason: "", hostname: "", turns: [], byInjection: new Map(), version: 0 };
      swarm.nodes.set(nodeId, node);
    }
    return node;
  }

  turn(node, injectionId) {
    let turn = node.byInjection.get(injectionId);
    if (!turn) {
      turn = { rev: 0, injection_id: injectionId, prompt: this.prompts[injectionId] ?? null, status: "queued", text: "", answer: null, usage: null, approvals: [], error: null };
      node.byInjection.set(injectionId, turn);
      node.turns.push(turn);
    }
    return turn;
  }

  rememberPrompt(injectionId, content) {
    this.prompts[injectionId] = content;
    const ids = Object.keys(this.prompts);
    if (ids.length > 500) for (const id of ids.slice(0, ids.length - 500)) delete this.prompts[id];
    try {
      localStorage.setItem(PROMPTS_KEY, JSON.stringify(this.prompts));
    } catch {
      // storage full or disabled: prompts then show for this page's life only
    }
  }

  // Fields of swarm_list / swarm_status / swarm_launched / swarm_update.
  updateSwarm(id, data) {
    const swarm = this.swarm(id);
    for (const key of ["job_id", "node_count", "status", "backend", "backend_state", "reason", "agent_kind", "nodes_connected", "system_prompt", "created_at", "model", "cost_usd", "cost_note"]) {
      if (data[key] !== undefined) swarm[key] = data[key];
    }
    for (let i = 0; i < (swarm.node_count ?? 0); i++) this.node(swarm, i);
    if (Array.isArray(data.nodes)) {
      for (const n of data.nodes) {
        const node = this.node(swarm, n.node_id);
        node.state = n.state ?? node.state;
        node.reason = n.reason ?? "";
        node.hostname = n.hostname ?? node.hostname;
        if (n.cost_usd !== undefined) node.cost_usd = n.cost_usd;
        node.version++;
      }
    }
    this.changed.add("*");
    this.changed.add(id);
  }

  apply(event) {
    const data = event.data ?? {};
    const name = event.event;
    if (name === "swarm_list") {
      for (const [id, summary] of Object.entries(data.swarms ?? {})) this.updateSwarm(id, summary);
      return;
    }
    if (name === "swarm_status" || name === "swarm_launched" || name === "swarm_update") {
      this.updateSwarm(data.swarm_id, data);
      return;
    }
    if (!data.swarm_id) return;
    const swarm = this.swarm(data.swarm_id);
    this.changed.add(swarm.id);
    if (name === "swarm_terminated") {
      swarm.status = "terminated";
      this.changed.add("*");
      return;
    }
    if (data.node_id === undefined || data.node_id === null) return;
    const node = this.node(swarm, data.node_id);
    node.version++;
    switch (name) {
      case "node_connected":
        node.state = "idle";
        node.hostname = data.hostname ?? "";
        node.reason = "";
        return;
      case "node_disconnected":
      case "node_lost":
      case "node_draining":
        node.state = name.slice(5);
        node.reason = data.reason ?? "";
        return;
    }
    if (!data.injection_id) return;
    if (name === "inject_ack" && this.sentPrompts.has(data.request_id) && !(data.injection_id in this.prompts)) {
      this.rememberPrompt(data.injection_id, this.sentPrompts.get(data.request_id));
    }
    const turn = this.turn(node, data.injection_id);
    turn.seq = event.seq;
    switch (name) {
      case "inject_ack":
        turn.status = "queued";
        turn.at = event.timestamp;
        break;
      case "inject_delivered":
        if (turn.status === "queued") turn.status = "delivered";
        break;
      case "inject_failed":
        turn.status = "failed";
        turn.error = data.reason ?? "injection failed";
        break;
      case "turn_started":
        turn.status = "running";
        node.state = "busy";
        break;
      case "assistant_delta":
        turn.status = "running";
        turn.text += data.delta ?? "";
        break;
      case "assistant":
        turn.answer = data.content ?? "";
        break;
      case "usage":
        turn.usage = data;
        break;
      case "approval_request":
        turn.approvals.push({ event: name, ...data });
        break;
      case "approval": {
        // The decision on a request a person was asked (same approval_id), or a policy's.
        const asked = data.approval_id && turn.approvals.find((a) => a.approval_id === data.approval_id);
        if (asked) Object.assign(asked, { decision: data.decision, decided_by: data.decided_by, reason: data.reason });
        else turn.approvals.push({ event: name, ...data });
        break;
      }
      case "turn_complete":
        turn.status = data.status ?? "completed";
        turn.error = data.error ?? null;
        if (node.state === "busy") node.state = "idle";
        break;
    }
    turn.rev = (turn.rev ?? 0) + 1;
  }

  runningTurns(swarm) {
    let running = 0;
    for (const node of swarm.nodes.values()) for (const t of node.turns) if (t.status === "running" || t.status === "delivered") running++;
    return running;
  }

  // Turns of `swarm` whose approval waits for a person.
  pendingApprovals(swarm) {
    const out = [];
    for (const node of swarm.nodes.values())
      for (const t of node.turns) for (const a of t.approvals) if (a.event === "approval_request" && !a.decision) out.push({ node, turn: t, approval: a });
    return out;
  }
}

function loadPrompts() {
  try {
    return JSON.parse(localStorage.getItem(PROMPTS_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}
