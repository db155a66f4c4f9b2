#!/usr/bin/env python3
"""A local stub of model APIs for the tests: Python 3 standard library only.

Serves, on 127.0.0.1, the HTTP APIs that real agent CLIs and adapters call, with SSE streaming:
  POST /v1/responses          OpenAI Responses API (what `codex` calls)      -- openai_api.py
  POST /v1/chat/completions   OpenAI Chat Completions (the openai adapter)   -- openai_api.py
  POST /v1/messages           Anthropic Messages API, when anthropic_api.py is present
and a control plane for the tests:
  POST /control               set behaviours (below); answers {"ok": true}
  GET  /requests              {"requests": [every request recorded, oldest first]}
  GET  /health                {"ok": true}

Usage: stub_model_server.py [--port N] [--exit-on-stdin-eof]
The port (default 0: any free one) is printed on stdout as the first line, then the server runs
until killed (SIGTERM/SIGINT) or, with --exit-on-stdin-eof, until its stdin reaches end of file
(so that it never outlives the test that started it, even one that crashed).

Behaviours. A request is answered by the first *rule* whose "match" string occurs in the
request's prompt (the text of its last user message), else by the *default* behaviour. The
keys of a behaviour (all optional):
  reply             the answer text (default "Hello from the stub model.")
  deltas            list of strings: the answer streamed exactly as these pieces (overrides reply)
  delay_ms          sleep before each streamed text piece (default 0)
  initial_delay_ms  sleep after the response headers, before the first event (default 0)
  status            an HTTP status to answer with instead of a stream (e.g. 401, 429, 500)
  error_message     the message in that error's JSON body (default "stub forced HTTP <status>")
  error_body        the whole error body (a JSON value, or a string sent as is); overrides
                    error_message
  retry_after       a Retry-After header value to send with the error
  cut_after         close the connection abruptly after this many SSE events
  stream_error      end the stream with an error event carrying this message
                    (Responses: response.failed; Chat Completions: a data chunk {"error": ...})
  usage             {"input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens"}
                    reported at the end (default: estimated from the sizes; total is the sum of
                    input and output)
  tool_call         Responses API only: instead of text, call a tool; the request that carries
                    the tool's output is answered with "after_tool_reply". Either
                    {"command": "touch x"} (exec_command), {"patch": "*** Begin Patch ... *** End Patch"}
                    (apply_patch through exec_command), or {"name": ..., "arguments": {...}}
                    for any function tool.
  after_tool_reply  the answer once the tool output came back (default
                    "Done. The tool call finished.")
  script            Chat Completions only: a scripted conversation, {"steps": [...],
                    "captures": {...}}: each request is answered with the next tool call of the
                    script (or its final reply), with values captured from the conversation so
                    far (a swarm id from a tool's output, say). See scripted_chat.py.

Control (POST /control, JSON object, keys applied in this order):
  {"reset": true}                 forget rules, default, API key and recorded requests
  {"default": {behaviour}}        replace the default behaviour
  {"rules": [{"match": "...", "times": N, ...behaviour}]}
                                  append rules; "times" (optional) = how many requests a rule
                                  answers before it stops matching
  {"require_api_key": "k"}        answer 401 unless the request carries that key
                                  (Authorization: Bearer k, or x-api-key: k); null: any key

Recorded requests: {"method", "path", "headers" (lower-case names; authorization and x-api-key
values replaced by "<redacted>"), "body" (parsed JSON, or the raw text when not JSON),
"prompt" (the last user message text), "api_key_ok" (true/false/null), "time"}.

API modules register handlers with `route(method, path)`; each handler gets (handler, context)
where context is a RequestContext (body, prompt, behaviour, helpers). See openai_api.py.
"""

import argparse
import importlib
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = {}  # (method, path) -> function(handler, RequestContext)


def route(method, path):
    def register(fn):
        ROUTES[(method, path)] = fn
        return fn
    return register


class StubState:
    """Rules, default behaviour and recorded requests, shared by all request threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.rules = []
        self.default = {}
        self.api_key = None
        self.requests = []

    def apply_control(self, control):
        with self.lock:
            if control.get("reset"):
                self.reset()
            if "default" in control:
                self.default = dict(control["default"] or {})
            for rule in control.get("rules", []):
                if not isinstance(rule, dict) or not isinstance(rule.get("match"), str):
                    raise ValueError("every rule needs a string \"match\"")
                self.rules.append(dict(rule))
            if "require_api_key" in control:
                self.api_key = control["require_api_key"]

    def behaviour_for(self, prompt):
        with self.lock:
            for rule in self.rules:
                if rule["match"] in (prompt or ""):
                    if "times" in rule:
                        if rule["times"] <= 0:
                            continue
                        rule["times"] -= 1
                    return dict(rule)
            return dict(self.default)

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def recorded(self):
        with self.lock:
            return list(self.requests)


STATE = StubState()


class StreamCut(Exception):
    """Raised by a writer when a behaviour says to cut the connection here."""


class RequestContext:
    """What an API handler needs: the parsed request, its behaviour, and response helpers."""

    def __init__(self, handler, body, prompt, behaviour):
        self.handler = handler
        self.body = body
        self.prompt = prompt
        self.behaviour = behaviour
        self.events_sent = 0

    # --- plain responses

    def send_json(self, status, value, extra_headers=None):
        data = json.dumps(value).encode()
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, val in (extra_headers or {}).items():
            h.send_header(name, val)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def send_forced_error(self, default_body):
        """Answers per the behaviour's status / error_message / error_body / retry_after."""
        b = self.behaviour
        status = int(b["status"])
        headers = {}
        if "retry_after" in b:
            headers["Retry-After"] = str(b["retry_after"])
        body = b.get("error_body", default_body)
        if isinstance(body, str):
            data = body.encode()
            h = self.handler
            h.send_response(status)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(data)))
            for name, val in headers.items():
                h.send_header(name, val)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        else:
            self.send_json(status, body, headers)

    def error_message(self):
        return self.behaviour.get("error_message", "stub forced HTTP %s" % self.behaviour["status"])

    # --- SSE over chunked transfer encoding (so that a cut stream is visible as one)

    def start_stream(self):
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        self.sleep_ms(self.behaviour.get("initial_delay_ms", 0))

    def _write_chunk(self, data):
        h = self.handler
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()

    def send_event(self, data, event=None):
        """One SSE event; `data` is a JSON value or a raw string. Honours cut_after."""
        cut_after = self.behaviour.get("cut_after")
        if cut_after is not None and self.events_sent >= int(cut_after):
            raise StreamCut()
        text = data if isinstance(data, str) else json.dumps(data)
        frame = ("event: %s\n" % event if event else "") + "data: %s\n\n" % text
        self._write_chunk(frame.encode())
        self.events_sent += 1

    def end_stream(self):
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def sleep_ms(self, ms):
        if ms:
            time.sleep(float(ms) / 1000.0)

    # --- what every API needs

    def text_pieces(self, text=None):
        if text is None and "deltas" in self.behaviour:
            return [str(d) for d in self.behaviour["deltas"]]
        if text is None:
            text = self.behaviour.get("reply", "Hello from the stub model.")
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    def usage(self, output_pieces):
        u = self.behaviour.get("usage", {})
        body_size = len(self.handler.raw_body)
        input_tokens = int(u.get("input_tokens", max(1, body_size // 4)))
        output_tokens = int(u.get("output_tokens", len(output_pieces)))
        return {
            "input_tokens": input_tokens,
            "cached_tokens": int(u.get("cached_tokens", 0)),
            "output_tokens": output_tokens,
            "reasoning_tokens": int(u.get("reasoning_tokens", 0)),
            "total_tokens": input_tokens + output_tokens,
        }


def _redacted_headers(headers):
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        out[lower] = "<redacted>" if lower in ("authorization", "x-api-key") else value
    return out


def _api_key_of(headers):
    auth = headers.get("Authorization")
    if auth and auth.startswith("Bearer "):
        return auth[len("Bearer "):]
    return headers.get("x-api-key")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "codeswarm-stub/1"

    def log_message(self, fmt, *args):  # quiet; requests are recorded instead
        pass

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length > 0 else b""
        try:
            return json.loads(self.raw_body) if self.raw_body else None
        except ValueError:
            return self.raw_body.decode("utf-8", "replace")

    def do_GET(self):
        self.raw_body = b""
        if self.path == "/requests":
            return self._send_plain_json(200, {"requests": STATE.recorded()})
        if self.path == "/health":
            return self._send_plain_json(200, {"ok": True})
        self._dispatch(None)

    def do_POST(self):
        body = self._read_body()
        if self.path == "/control":
            try:
                if not isinstance(body, dict):
                    raise ValueError("control body must be a JSON object")
                STATE.apply_control(body)
            except (ValueError, TypeError, KeyError) as e:
                return self._send_plain_json(400, {"ok": False, "error": str(e)})
            return self._send_plain_json(200, {"ok": True})
        self._dispatch(body)

    def _send_plain_json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, body):
        path = self.path.split("?", 1)[0]
        fn = ROUTES.get((self.command, path))
        prompt = getattr(fn, "prompt_of", lambda b: None)(body) if fn else None
        key_ok = None
        with STATE.lock:
            required = STATE.api_key
        if required is not None:
            key_ok = _api_key_of(self.headers) == required
        STATE.record({
            "method": self.command,
            "path": self.path,
            "headers": _redacted_headers(self.headers),
            "body": body,
            "prompt": prompt,
            "api_key_ok": key_ok,
            "time": time.time(),
        })
        if fn is None:
            return self._send_plain_json(404, {"error": {"message": "stub: no route for %s %s" % (self.command, path), "type": "not_found"}})
        behaviour = STATE.behaviour_for(prompt)
        if key_ok is False:
            behaviour = {"status": 401, "error_message": "stub: invalid API key"}
        ctx = RequestContext(self, body, prompt, behaviour)
        try:
            fn(self, ctx)
        except StreamCut:
            self._abort_connection()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. an interrupt)

    def _abort_connection(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def load_api_modules():
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    # The API modules `import stub_model_server`: let them find this very module (run as
    # __main__), not a second copy with its own route table.
    sys.modules.setdefault("stub_model_server", sys.modules[__name__])
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    for name in ("openai_api", "anthropic_api"):
        if os.path.exists(os.path.join(here, name + ".py")):
            importlib.import_module(name)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert")
    args = parser.parse_args()
    if args.exit_on_stdin_eof:
        def exit_at_eof():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=exit_at_eof, daemon=True).start()
    load_api_modules()
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
