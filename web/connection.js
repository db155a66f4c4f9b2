// The page's link to the router: the client protocol codeswarm.router.v1 over the WebSocket at
// /ws, one JSON object per text frame (docs/WEB_UI.md). On open it subscribes from the last seq
// it handled (0 the first time), so a reload shows the journal's history and a reconnect after a
// router restart continues where it stopped; every event with a seq is handed on once (dedupe
// by seq: nothing lost, nothing doubled).

const PROTOCOL = "codeswarm.router.v1";

export class Connection {
  // onEvent(event): every event, once. onState(state, detail): "connecting" | "open" | "closed".
  constructor({ onEvent, onState }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastSeq = 0;
    this.nextRequest = 1;
    this.pending = new Map(); // request_id -> {resolve, reject}
    this.socket = null;
    this.retryMs = 250;
    this.closingReason = "";
  }

  start() {
    this.connect();
  }

  connect() {
    const url = `ws://${location.host}/ws`;
    this.onState("connecting", "");
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 250;
      this.onState("open", "");
      // The first command: the router replays the journal after lastSeq, then goes live.
      this.send("subscribe", { since_seq: this.lastSeq }).catch(() => {});
    };
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      this.handle(event);
    };
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      for (const { reject } of this.pending.values()) reject(new Error("connection lost"));
      this.pending.clear();
      const why = this.closingReason || close.reason || `code ${close.code}`;
      this.closingReason = "";
      this.onState("closed", why);
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    };
  }

  handle(event) {
    if (event.type !== "event") return;
    if (typeof event.seq === "number") {
      if (event.seq <= this.lastSeq) return; // already shown (replay overlap after a reconnect)
      this.lastSeq = event.seq;
    }
    if (event.event === "connection_closing") this.closingReason = event.data?.reason ?? "";
    const requestId = event.data?.request_id;
    const waiter = requestId !== undefined && this.pending.get(requestId);
    // The first event carrying a request_id is the command's answer (docs/PROTOCOL.md).
    if (waiter) {
      this.pending.delete(requestId);
      if (event.event === "command_rejected") waiter.reject(new Error(event.data.reason));
      else waiter.resolve(event);
    }
    this.onEvent(event);
  }

  // Sends a command; resolves with its answer, rejects with the rejection's reason.
  // onRequestId(id), when given, hears the request_id before the line leaves.
  send(command, payload, onRequestId) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("not connected to the router"));
    }
    const requestId = `web-${Date.now().toString(36)}-${this.nextRequest++}`;
    const line = JSON.stringify({ protocol: PROTOCOL, type: "command", command, request_id: requestId, payload });
    onRequestId?.(requestId);
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      this.socket.send(line);
    });
  }
}
