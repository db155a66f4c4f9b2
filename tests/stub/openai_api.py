"""OpenAI APIs of the stub model server: Responses (codex) and Chat Completions (openai adapter).

Behaviour keys are documented in stub_model_server.py.
"""

import json
import time
import uuid

from stub_model_server import route
import scripted_chat


def _text_of(content):
    """The text of a message's content: a string, or a list of parts with "text"."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _openai_error(ctx, kind):
    return {"error": {"message": ctx.error_message(), "type": kind, "param": None,
                      "code": str(ctx.behaviour["status"])}}


# --- Responses API (POST /v1/responses), as codex uses it


def _last_user_index(items):
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if isinstance(item, dict) and item.get("role") == "user" and item.get("type", "message") == "message":
            return i
    return -1


def _responses_prompt(body):
    items = body.get("input") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    i = _last_user_index(items)
    return _text_of(items[i].get("content")) if i >= 0 else None


def _tool_output_came_back(body):
    items = body.get("input") or []
    start = _last_user_index(items)
    return any(isinstance(it, dict) and it.get("type") in ("function_call_output", "custom_tool_call_output")
               for it in items[start + 1:])


def _tool_call_item(spec):
    call_id = "call_" + uuid.uuid4().hex[:12]
    if "command" in spec:
        name, arguments = "exec_command", {"cmd": spec["command"]}
    elif "patch" in spec:
        # codex 0.169 offers no apply_patch tool of its own: it intercepts apply_patch run
        # through exec_command and turns it into a file change (with its own approval).
        name, arguments = "exec_command", {"cmd": "apply_patch <<'PATCH'\n%s\nPATCH" % spec["patch"]}
    else:
        name, arguments = spec["name"], spec.get("arguments", {})
    return {"type": "function_call", "id": "fc_" + call_id[5:], "call_id": call_id, "name": name,
            "arguments": json.dumps(arguments), "status": "completed"}


@route("POST", "/v1/responses")
def responses(handler, ctx):
    b = ctx.behaviour
    if "status" in b:
        return ctx.send_forced_error(_openai_error(ctx, "stub_error"))
    response_id = "resp_" + uuid.uuid4().hex[:16]
    ctx.start_stream()
    ctx.send_event({"type": "response.created", "response": {"id": response_id}}, "response.created")
    tool = b.get("tool_call")
    after_tool = _tool_output_came_back(ctx.body)
    pieces = []
    if tool and not after_tool:
        item = _tool_call_item(tool)
        ctx.send_event({"type": "response.output_item.added", "output_index": 0, "item": item},
                       "response.output_item.added")
        ctx.send_event({"type": "response.output_item.done", "output_index": 0, "item": item},
                       "response.output_item.done")
    else:
        text = b.get("after_tool_reply", "Done. The tool call finished.") if tool else None
        pieces = ctx.text_pieces(text)
        message_id = "msg_" + uuid.uuid4().hex[:16]
        ctx.send_event({"type": "response.output_item.added", "output_index": 0,
                        "item": {"type": "message", "role": "assistant", "id": message_id,
                                 "status": "in_progress", "content": []}},
                       "response.output_item.added")
        for piece in pieces:
            ctx.sleep_ms(b.get("delay_ms", 0))
            ctx.send_event({"type": "response.output_text.delta", "item_id": message_id,
                            "output_index": 0, "content_index": 0, "delta": piece},
                           "response.output_text.delta")
        if "stream_error" in b:
            ctx.send_event({"type": "response.failed", "response": {
                "id": response_id, "status": "failed",
                "error": {"code": "server_error", "message": b["stream_error"]}}}, "response.failed")
            return ctx.end_stream()
        ctx.send_event({"type": "response.output_item.done", "output_index": 0,
                        "item": {"type": "message", "role": "assistant", "id": message_id,
                                 "status": "completed",
                                 "content": [{"type": "output_text", "text": "".join(pieces),
                                              "annotations": []}]}},
                       "response.output_item.done")
    u = ctx.usage(pieces)
    ctx.send_event({"type": "response.completed", "response": {
        "id": response_id, "status": "completed",
        "usage": {"input_tokens": u["input_tokens"],
                  "input_tokens_details": {"cached_tokens": u["cached_tokens"]},
                  "output_tokens": u["output_tokens"],
                  "output_tokens_details": {"reasoning_tokens": u["reasoning_tokens"]},
                  "total_tokens": u["total_tokens"]}}}, "response.completed")
    ctx.end_stream()


responses.prompt_of = _responses_prompt


# --- Chat Completions (POST /v1/chat/completions)


def _chat_prompt(body):
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return _text_of(m.get("content"))
    return None


@route("POST", "/v1/chat/completions")
def chat_completions(handler, ctx):
    b = ctx.behaviour
    if "status" in b:
        return ctx.send_forced_error(_openai_error(ctx, "stub_error"))
    body = ctx.body if isinstance(ctx.body, dict) else {}
    model = body.get("model", "stub-model")
    chunk_id = "chatcmpl-" + uuid.uuid4().hex[:16]
    created = int(time.time())

    def chunk(choices, **extra):
        value = {"id": chunk_id, "object": "chat.completion.chunk", "created": created,
                 "model": model, "choices": choices}
        value.update(extra)
        return value

    if "script" in b:
        return _scripted_chat(ctx, body, chunk)
    pieces = ctx.text_pieces()
    if not body.get("stream"):
        u = ctx.usage(pieces)
        return ctx.send_json(200, {
            "id": chunk_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "".join(pieces)}}],
            "usage": _chat_usage(u)})
    ctx.start_stream()
    ctx.send_event(chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                           "finish_reason": None}]))
    for piece in pieces:
        ctx.sleep_ms(b.get("delay_ms", 0))
        ctx.send_event(chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]))
    if "stream_error" in b:
        ctx.send_event({"error": {"message": b["stream_error"], "type": "server_error", "code": 500}})
        return ctx.end_stream()
    ctx.send_event(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if (body.get("stream_options") or {}).get("include_usage"):
        ctx.send_event(chunk([], usage=_chat_usage(ctx.usage(pieces))))
    ctx.send_event("[DONE]")
    ctx.end_stream()


def _scripted_chat(ctx, body, chunk):
    """Answers with the script's next step (scripted_chat.py): a tool call or the final text."""
    step = scripted_chat.next_step(body, ctx.behaviour["script"])
    if "tool" not in step:
        pieces = ctx.text_pieces(step.get("reply", ""))
        finish, deltas = "stop", [{"content": piece} for piece in pieces]
    else:
        pieces = []
        finish = "tool_calls"
        deltas = [scripted_chat.tool_call_delta(step, "call_" + uuid.uuid4().hex[:12])]
    if not body.get("stream"):
        message = {"role": "assistant", "content": "".join(pieces) or None}
        if deltas and "tool_calls" in deltas[0]:
            message["tool_calls"] = deltas[0]["tool_calls"]
        return ctx.send_json(200, chunk([{"index": 0, "finish_reason": finish, "message": message}],
                                        object="chat.completion", usage=_chat_usage(ctx.usage(pieces))))
    ctx.start_stream()
    ctx.send_event(chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                           "finish_reason": None}]))
    for delta in deltas:
        ctx.send_event(chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
    ctx.send_event(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
    if (body.get("stream_options") or {}).get("include_usage"):
        ctx.send_event(chunk([], usage=_chat_usage(ctx.usage(pieces))))
    ctx.send_event("[DONE]")
    ctx.end_stream()


def _chat_usage(u):
    return {"prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"],
            "total_tokens": u["total_tokens"],
            "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]},
            "completion_tokens_details": {"reasoning_tokens": u["reasoning_tokens"]}}


chat_completions.prompt_of = _chat_prompt
