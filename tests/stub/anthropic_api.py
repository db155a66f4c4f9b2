"""Anthropic Messages API of the stub model server (what Claude Code calls).

  POST /v1/messages   (claude sends ?beta=true; the query is ignored)

Streams the way the real API does (SSE, `event: T` + `data: {"type": T, ...}`): message_start,
content_block_start, content_block_delta (text_delta or input_json_delta), content_block_stop,
message_delta (stop_reason and usage), message_stop. A request without "stream": true gets
the whole message as one JSON body.

The prompt of a request (what rules match) is the text of the last user message that has text
of its own: a user message that only carries tool results continues the same human turn, so
the request after a tool call is answered by the same rule. Claude Code 2.1.331 sends a
role:"system" message after the user message; it is skipped.

Behaviour keys (shared ones are documented in stub_model_server.py): reply, deltas, delay_ms,
initial_delay_ms, status, error_message, error_body, retry_after, cut_after (counts SSE events,
message_start included; a non-streaming request is cut before its answer), stream_error (an
`error` event after the text; a non-streaming request gets HTTP 529 with it), usage
({"input_tokens", "cached_tokens" (cache reads), "cache_creation_tokens", "output_tokens"}),
after_tool_reply, and:
  tool_use   instead of text, call a tool: {"name": "Bash", "input": {"command": "touch x"}}
             (input streamed as input_json_delta pieces); the request that carries the
             tool's result is answered with after_tool_reply.
"""

import json
import uuid

from stub_model_server import StreamCut, route

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                500: "api_error", 529: "overloaded_error"}


def _text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _has_tool_result(message):
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(p, dict) and p.get("type") == "tool_result" for p in content)


def _last_human_index(messages):
    """Index of the last user message with text of its own (not only tool results), or -1."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if isinstance(m, dict) and m.get("role") == "user" and not _has_tool_result(m) \
                and _text_of(m.get("content")):
            return i
    return -1


def _messages(body):
    messages = body.get("messages") if isinstance(body, dict) else None
    return messages if isinstance(messages, list) else []


def _messages_prompt(body):
    messages = _messages(body)
    i = _last_human_index(messages)
    return _text_of(messages[i].get("content")) if i >= 0 else None


def _tool_result_came_back(body):
    messages = _messages(body)
    start = _last_human_index(messages)
    return any(isinstance(m, dict) and m.get("role") == "user" and _has_tool_result(m)
               for m in messages[start + 1:])


def _error_body(ctx):
    status = int(ctx.behaviour["status"])
    return {"type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": ctx.error_message()}}


def _usage(ctx, pieces):
    u = ctx.usage(pieces)
    extra = ctx.behaviour.get("usage", {})
    return {"input_tokens": u["input_tokens"],
            "cache_creation_input_tokens": int(extra.get("cache_creation_tokens", 0)),
            "cache_read_input_tokens": u["cached_tokens"],
            "output_tokens": u["output_tokens"]}


def _json_pieces(value):
    """The tool input as JSON text, cut in a few pieces (as the real API streams it)."""
    text = json.dumps(value)
    size = max(1, len(text) // 3)
    return [text[i:i + size] for i in range(0, len(text), size)]


@route("POST", "/v1/messages")
def messages(handler, ctx):
    b = ctx.behaviour
    if "status" in b:
        return ctx.send_forced_error(_error_body(ctx))
    body = ctx.body if isinstance(ctx.body, dict) else {}
    model = body.get("model", "claude-stub-model")
    message_id = "msg_" + uuid.uuid4().hex[:16]
    tool = b.get("tool_use")
    use_tool = bool(tool) and not _tool_result_came_back(body)
    if use_tool:
        block = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20],
                 "name": tool.get("name", "Bash"), "input": {}}
        pieces = _json_pieces(tool.get("input", {}))
        stop_reason = "tool_use"
    else:
        text = b.get("after_tool_reply", "Done. The tool call finished.") if tool else None
        block = {"type": "text", "text": ""}
        pieces = ctx.text_pieces(text)
        stop_reason = "end_turn"
    usage = _usage(ctx, pieces)

    if not body.get("stream"):
        # Claude Code retries a failed stream as one non-streaming request: a behaviour that
        # breaks the stream breaks that request too.
        if "cut_after" in b:
            raise StreamCut()
        if "stream_error" in b:
            return ctx.send_json(529, {"type": "error", "error": {
                "type": "overloaded_error", "message": b["stream_error"]}})
        if use_tool:
            block = dict(block, input=tool.get("input", {}))
        else:
            block = dict(block, text="".join(pieces))
        return ctx.send_json(200, {"id": message_id, "type": "message", "role": "assistant",
                                   "model": model, "content": [block], "stop_reason": stop_reason,
                                   "stop_sequence": None, "usage": usage})

    def event(value):
        ctx.send_event(value, value["type"])

    ctx.start_stream()
    start_usage = dict(usage, output_tokens=1)
    event({"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
    event({"type": "content_block_start", "index": 0, "content_block": block})
    for piece in pieces:
        ctx.sleep_ms(b.get("delay_ms", 0))
        delta = ({"type": "input_json_delta", "partial_json": piece} if use_tool
                 else {"type": "text_delta", "text": piece})
        event({"type": "content_block_delta", "index": 0, "delta": delta})
    if "stream_error" in b:
        event({"type": "error", "error": {"type": "overloaded_error", "message": b["stream_error"]}})
        return ctx.end_stream()
    event({"type": "content_block_stop", "index": 0})
    event({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
           "usage": {"output_tokens": usage["output_tokens"]}})
    event({"type": "message_stop"})
    ctx.end_stream()


messages.prompt_of = _messages_prompt
