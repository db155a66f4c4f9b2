#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: real lines from docs/PROTOCOL.md,
docs/WORKER_PROTOCOL.md and the unit tests, one per file, named by content hash so that
re-running is idempotent. Run from anywhere: python3 fuzz/make_corpus.py"""
import hashlib
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
V1 = '{"protocol":"codeswarm.router.v1","type":"command","command":"%s","request_id":"%s","payload":%s}'

CLIENT = [
    V1 % ("swarm_launch", "r-1", '{"nodes":4,"system_prompt":"be brief","agent":{"kind":"mock"}}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":2}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":0}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":"4"}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":2.5}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":2,"system_promt":"x"}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":2,"agent":{"kind":"codex","model":"gpt-5","reasoning_effort":"low","extra":[1,2.5e3,null,true]}}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-3f9a1c2e","nodes":"all","content":"hello"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","nodes":3,"content":"hi"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","nodes":[5,0,2],"content":"hi"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","nodes":[1,2,1],"content":"x"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","nodes":[],"content":"x"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","nodes":-1,"content":"x"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","nodes":[0,"1"],"content":"x"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","content":"it\'s \\"$(rm -rf ~)\\" `id`\\n; DROP TABLE swarms;"}'),
    V1 % ("inject", "r-2", '{"swarm_id":"s-1","content":"caf\\u00e9 \\ud83d\\ude00 日本語"}'),
    V1 % ("interrupt", "r-6", '{"swarm_id":"s-3f9a1c2e","nodes":[0]}'),
    V1 % ("interrupt", "r-6", '{"swarm_id":"s-3f9a1c2e"}'),
    V1 % ("swarm_list", "r-3", "{}"),
    V1 % ("swarm_list", "r-3", '{"all":true}'),
    V1 % ("swarm_status", "r-4", '{"swarm_id":"s-3f9a1c2e"}'),
    V1 % ("swarm_status", "r-4", '{"swarm_id":[]}'),
    V1 % ("swarm_terminate", "r-5", '{"swarm_id":"s-3f9a1c2e"}'),
    V1 % ("subscribe", "r-7", '{"since_seq":41}'),
    '{"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"r","payload":{},"trace":"x"}',
    '{"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","payload":{}}',
    '{"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":7,"payload":{}}',
    '{"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"","payload":{}}',
    '{"type":"command","command":"swarm_list","request_id":"r1","payload":{}}',
    '{"protocol":"codeswarm.router.v0","type":"command","command":"swarm_list","request_id":"r1","payload":{}}',
    '{"protocol":"codeswarm.router.v1","type":"event","command":"swarm_list","request_id":"r1","payload":{}}',
    '{"protocol":"codeswarm.router.v1","type":"command","command":3,"request_id":"r1","payload":{}}',
    '{"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"r1"}',
    '{"protocol":',
    '"inject"',
    '',
    '   ',
    '\xff\xfe{}',
    # Inputs that found bugs (docs/FUZZING.md), kept so every run starts from them.
    V1 % ("swarm_launch", "r-1", '{"nodes":1,"agent":{"temperature":1e400,"top_p":-0e400}}'),
    V1 % ("swarm_launch", "r-1", '{"nodes":8.1e76}'),
    '"' + 'a' * 39 + '\u00e9\u00e9"',
]

EVENTS = [
    'event 17 i-0c1d2e3f assistant_delta {"delta":"Hel"}',
    'event 1 i-0c1d2e3f turn_started {}',
    'event 2 i-0c1d2e3f assistant {"text":"Hello, world."}',
    'event 3 i-0c1d2e3f usage {"input_tokens":12,"output_tokens":30,"total_tokens":42}',
    'event 4 i-0c1d2e3f turn_complete {"status":"completed","error":null}',
    'event 5 i-0c1d2e3f turn_complete {"status":"failed","error":"agent exited with status 1"}',
    'event 6 i-0c1d2e3f approval {"kind":"exec","command":["ls","-l"],"decision":"denied"}',
    'event 9223372036854775807 i.x_y-z assistant_delta { "delta" : "\\u00e9\\n" }',
    'event 0 i-1 assistant_delta {"delta":"x"}',
    'event -3 i-1 assistant_delta {"delta":"x"}',
    'event 7 i/1 assistant_delta {"delta":"x"}',
    'event 7 i-1 inject_ack {}',
    'event 7 i-1 assistant_delta {"delta":"x"} {}',
    'event 7 i-1 assistant_delta {"swarm_id":"s-evil","node_id":9}',
    'event 7 i-1 assistant_delta {"delta":"x","injection\\u005fid":"i-2"}',
]
OTHER = [
    'hello {"protocol":"codeswarm.worker.v2","swarm_id":"s-3f9a1c2e","node_id":0,"instance":"w-9a8b","pid":4242,"hostname":"n1","version":"0.1.0","holding":["i-0c1d2e3f"]}',
    'hello {"protocol":"codeswarm.worker.v2","swarm_id":"s-1","node_id":3,"instance":"w-1"}',
    'hello {"protocol":"codeswarm.worker.v1","swarm_id":"s-1","node_id":3,"instance":"w-1","secret":"00"}',
    'hello {"protocol":"codeswarm.worker.v2","swarm_id":"s-1","node_id":-1,"instance":"w-1","holding":["bad id"]}',
    'hello {"protocol":"codeswarm.worker.v2","swarm_id":"s-1","node_id":9.2e23,"instance":"w-1"}',
    'welcome {"protocol":"codeswarm.worker.v2","ack_seq":16,"system_prompt":"be brief","agent":{"kind":"mock","delay_ms":5},"heartbeat_seconds":5,"timeout_seconds":20}',
    'welcome {"protocol":"codeswarm.worker.v2","ack_seq":0,"heartbeat_seconds":0.25,"timeout_seconds":1.5e0}',
    'welcome {"protocol":"codeswarm.worker.v2","ack_seq":-1,"heartbeat_seconds":0,"timeout_seconds":1e9}',
    'inject {"injection_id":"i-0c1d2e3f","content":"Say hello."}',
    'inject {"injection_id":"i-0c1d2e3f","content":""}',
    'inject {"injection_id":"","content":"x"}',
    'received {"injection_id":"i-0c1d2e3f"}',
    'interrupt {"injection_id":"i-0c1d2e3f"}',
    'ack {"seq":17}',
    'ack {"seq":-1}',
    'ack {"seq":18446744073709551615}',
    'ack {"ack_seq":3}',
    'reject {"reason":"hello for swarm s-2, but the handshake proved s-1"}',
    'shutdown {"reason":"terminated by request"}',
    'draining {"reason":"SIGUSR1: the job\'s time limit is near"}',
    'bye {"reason":"terminated"}',
    'drained {}',
    'ping {}',
    'pong {}',
    'bogus',
    ' {}',
]

FRAMER_TEXT = [
    b"one\ntw", b"o\r\n\nthree\n", b"123456789", b"tail\nok\n",
    b"received {\"injection_id\":\"i-1\"}\nevent 1 i-1 turn_started {}\nev",
    b"\r\n\r\n\n", b"\n" * 40, b"x" * 300 + b"\nshort\n", b"a\rb\r\r\n",
]


def write(target, items):
    out = HERE / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    for item in items:
        data = item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item
        if isinstance(item, str) and item.startswith("\xff"):
            data = b"\xff\xfe{}"
        name = hashlib.sha1(data).hexdigest()[:16]
        (out / name).write_bytes(data)


def framer_inputs():
    # FuzzedDataProvider reads integers from the end of the data and bytes from the front: the
    # text comes first, a trailer picks the limit, the chunk sizes and the calls.
    inputs = []
    lines = CLIENT[:6] + EVENTS[:6] + OTHER[:6]
    texts = FRAMER_TEXT + [("\n".join(lines[k::4]) + "\n").encode() for k in range(4)]
    for limit in (0, 8, 120):
        for text in texts:
            trailer = bytes([0x01, 0x10, 0x00, 0x01, 0x40, 0x00]) + struct.pack(">H", limit)
            inputs.append(text + trailer)
    return inputs


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def string(b):
    return varint(len(b)) + b


def journal_inputs():
    # Chunks in the compact form of src/router/journal_codec.h (read whole as a chunk by the
    # target's damage half), and event lines as the router writes them.
    line = (b'{"protocol":"codeswarm.router.v1","type":"event","seq":7,"timestamp":'
            b'"2026-12-02T10:00:00.123Z","event":"assistant_delta","data":{"swarm_id":"s-1",'
            b'"job_id":"j-1","node_id":0,"injection_id":"i-1","delta":"hi"}}\n')
    prefix = b'{"swarm_id":"s-1","job_id":"j-1","node_id":0,"injection_id":"i-1"'
    whole = b"\x01" + varint(7) + b"\x00" + string(line)
    split = (b"\x01" + varint(7) + b"\x01" + b"\x00" + string(b"2026-12-02T10:00:00.123Z") +
             b"\x00" + string(b"assistant_delta") + b"\x00" + string(prefix) +
             string(b',"delta":"hi"}') + varint(1) + b"\x01\x01\x01\x01" +
             string(b',"delta":" there"}'))
    return [whole, split, line, line + line.replace(b'"seq":7', b'"seq":8')]


write("client_line", CLIENT)
write("worker_line", EVENTS + OTHER)
write("line_framer", framer_inputs())
write("journal_chunk", journal_inputs())
