"""A local OpenAI-compatible chat-completions server for tests (http.server in a thread on
127.0.0.1, free port), driven through the real ``openai`` client via ``base_url``.

Answers are deterministic functions of the prompt: a label request is answered with the
most common word of the ON concepts (ties: alphabetical), a detection request selects the
concepts whose name contains the label as a word. Cues inside the prompt text change that:
``<<stub:429*N:ra=S>>`` (the first N requests holding the cue get 429 with Retry-After S),
``<<stub:500*N>>``, ``<<stub:malformed*N>>`` (content that is not the JSON asked for),
``<<stub:400>>`` (400 echoing the bearer token, as a careless server might); N omitted means
always. A request with a wrong API key gets 401 (echoing the key), an unknown model 404.
Every request is recorded in ``requests`` (without the Authorization header);
``max_in_flight`` is the most requests it was answering at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CUE = re.compile(r"<<stub:(429|500|malformed|400)(?:\*(\d+))?(?::ra=(\d+(?:\.\d+)?))?>>")


def cue(kind: str, times: int | None = None, retry_after: float | None = None) -> str:
    """The cue text that triggers ``kind`` (for ``times`` requests; None = always)."""
    return (f"<<stub:{kind}" + (f"*{times}" if times is not None else "")
            + (f":ra={retry_after:g}" if retry_after is not None else "") + ">>")


def _strings(block: str, prefix: re.Pattern[str]) -> list[str]:
    out = []
    for line in block.splitlines():
        m = prefix.match(line)
        if m:
            out.append(json.loads(line[m.end():]))
    return out


def _words(name: str) -> list[str]:
    return [w for w in CUE.sub(" ", name).split() if w]


def answer_label(user: str) -> dict[str, Any]:
    """The stub's label for a label prompt (most common word of the ON concepts)."""
    on_block = user.split("\n\n")[0]
    on = _strings(on_block, re.compile(r"- "))
    counts = Counter(w for n in on for w in set(_words(n)))
    if not counts:
        return {"label": "nothing", "explanation": "no concepts", "confidence": 0.0}
    best = min(counts, key=lambda w: (-counts[w], w))
    return {"label": best, "explanation": f"{counts[best]} of {len(on)} ON concepts share "
            f"the word {best!r}", "confidence": round(counts[best] / len(on), 6)}


def answer_detection(user: str) -> dict[str, Any]:
    """The stub's selection for a detection prompt (names holding the label as a word)."""
    head, _, listing = user.partition("\n\nConcepts:\n")
    label = json.loads(head[len("Label: "):])
    names = _strings(listing, re.compile(r"\d+\. "))
    return {"selected": [i for i, n in enumerate(names, 1) if label in _words(n)]}


class OpenAIStub:
    """The server; use as a context manager. ``base_url`` is what the client takes."""

    def __init__(self, api_key: str = "sk-stub", models: tuple[str, ...] = ("stub-model",),
                 report_usage: bool = True, delay: float = 0.0) -> None:
        self.api_key = api_key
        self.delay = delay  # seconds each answer takes (to observe concurrency)
        self.in_flight = 0
        self.max_in_flight = 0
        self.models = set(models)
        self.report_usage = report_usage
        self.requests: list[dict[str, Any]] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, kind: str | None = None) -> int:
        """Requests received (``kind``: 'label' or 'detection' to count only those)."""
        return sum(1 for r in self.requests if kind is None or r["kind"] == kind)

    # -- request handling ---------------------------------------------------------------------
    def respond(self, auth: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body) for one request."""
        schema = ((body.get("response_format") or {}).get("json_schema") or {})
        kind = {"feature_label": "label", "label_detection": "detection"}.get(
            schema.get("name"), "other")
        messages = body.get("messages") or []
        user = "\n".join(m.get("content", "") for m in messages if m.get("role") == "user")
        with self._lock:
            self.requests.append({"kind": kind, "body": body,
                                  "auth_ok": auth == f"Bearer {self.api_key}"})
        if auth != f"Bearer {self.api_key}":
            token = auth.removeprefix("Bearer ")
            return 401, {}, _error(f"Incorrect API key provided: {token}.", "invalid_api_key")
        if body.get("model") not in self.models:
            return 404, {}, _error(f"The model `{body.get('model')}` does not exist.",
                                   "model_not_found")
        for m in CUE.finditer(user):
            kind_cue, times, ra = m.group(1), m.group(2), m.group(3)
            with self._lock:
                self._seen[m.group(0) + user] += 1
                n = self._seen[m.group(0) + user]
            if times is not None and n > int(times):
                continue
            if kind_cue == "429":
                return 429, ({"retry-after": ra} if ra else {}), _error("Rate limit", "rate")
            if kind_cue == "500":
                return 500, {}, _error("The server had an error", "server_error")
            if kind_cue == "400":
                return 400, {}, _error(f"Bad request from {auth}", "bad_request")
            return 200, {}, self._completion(body, "Sure! The label is probably: animals")
        if kind == "label":
            content = json.dumps(answer_label(user))
        elif kind == "detection":
            content = json.dumps(answer_detection(user))
        else:
            content = "{}"
        return 200, {}, self._completion(body, content)

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages") or [])
        out: dict[str, Any] = {
            "id": f"chatcmpl-stub-{len(self.requests)}", "object": "chat.completion",
            "created": 0, "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": None}}]}
        if self.report_usage:
            p, c = prompt_chars // 4, len(content) // 4
            out["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    status, headers, payload = 404, {}, _error("no such route", "not_found")
                else:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        status, headers, payload = 400, {}, _error("bad JSON", "bad_request")
                    else:
                        with stub._lock:
                            stub.in_flight += 1
                            stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                        try:
                            if stub.delay:
                                time.sleep(stub.delay)
                            status, headers, payload = stub.respond(
                                self.headers.get("authorization", ""), body)
                        finally:
                            with stub._lock:
                                stub.in_flight -= 1
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # silence
                pass

        return Handler


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}
