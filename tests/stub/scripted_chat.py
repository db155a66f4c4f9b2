"""Scripted conversations for the stub's Chat Completions API: the stub plays an assistant that
calls tools in a fixed order, so that a real agent runtime (OpenClaw) can be driven through a
whole task by a test.

Behaviour key "script" (documented in stub_model_server.py):
  {"steps": [STEP, ...], "captures": {NAME: CAPTURE, ...}}
A STEP is {"tool": NAME, "arguments": {...}} (answered as one tool call) or {"reply": TEXT}
(answered as text, ending the turn). The step to answer with is the number of tool calls the
assistant already made in the request's conversation; past the last step the last reply is
repeated. Strings in a step may hold "{NAME}" placeholders, replaced by captures:
CAPTURE is {"in": "system" | "tools" | "all", "pattern": REGEX, "join": SEPARATOR (optional)}:
the first group of the first match of REGEX in the system messages, the tool results (oldest
first) or both; with "join", every distinct match, in order, joined. A placeholder whose capture finds nothing is
answered with a reply that names it, so a test sees what the conversation lacked.
"""

import json
import re


def _text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _texts(messages, where):
    roles = {"system": ("system", "developer"), "tools": ("tool",),
             "all": ("system", "developer", "tool")}[where]
    return [_text_of(m.get("content")) for m in messages
            if isinstance(m, dict) and m.get("role") in roles]


def _capture(messages, spec):
    pattern = re.compile(spec["pattern"], re.S)
    found = []
    for text in _texts(messages, spec.get("in", "all")):
        for match in pattern.finditer(text):
            value = match.group(1) if match.groups() else match.group(0)
            if "join" not in spec:
                return value
            if value not in found:
                found.append(value)
    return spec["join"].join(found) if found else None


class MissingCapture(Exception):
    pass


def _fill(value, messages, captures):
    """Replaces {NAME} placeholders in every string of value."""
    if isinstance(value, str):
        def substitute(match):
            name = match.group(1)
            if name not in captures:
                return match.group(0)
            captured = _capture(messages, captures[name])
            if captured is None:
                raise MissingCapture(name)
            return captured
        return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", substitute, value)
    if isinstance(value, list):
        return [_fill(v, messages, captures) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, messages, captures) for k, v in value.items()}
    return value


def next_step(body, script):
    """The step that answers this request: {"tool": name, "arguments": {...}} or {"reply": text}."""
    messages = body.get("messages") if isinstance(body, dict) else None
    messages = messages if isinstance(messages, list) else []
    calls_made = sum(len(m.get("tool_calls") or []) for m in messages
                     if isinstance(m, dict) and m.get("role") == "assistant")
    steps = script.get("steps") or [{"reply": "stub script: no steps"}]
    step = steps[min(calls_made, len(steps) - 1)]
    if calls_made >= len(steps) and "tool" in step:
        return {"reply": "stub script: all %d steps were played" % len(steps)}
    try:
        return _fill(step, messages, script.get("captures") or {})
    except MissingCapture as e:
        return {"reply": "stub script: step %d needs {%s}, which the conversation does not hold"
                         % (calls_made, e.args[0])}


def tool_call_delta(step, call_id):
    """The Chat Completions streaming delta that makes one tool call."""
    return {"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                            "function": {"name": step["tool"],
                                         "arguments": json.dumps(step.get("arguments", {}))}}]}
