"""A mixed load of questions over every answering endpoint, shared by the load test in the
suite (tests/test_e2e_load.py) and the benchmark (tools/benchmarks/bench_http.py --mixed).

Each request is one of /chat, /chat/stream (read to its end), /search and
/v1/chat/completions, in turn, with the questions of tests/qa/dev.jsonl cycled. A stream
that ends with an `error` event counts as a failure even though its status was 200.
"""

import json
from pathlib import Path

import httpx

QUESTIONS = [
    json.loads(line)["question"]
    for line in (Path(__file__).parent / "qa" / "dev.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]
STREAM_FAILED = 599  # a 200 whose event stream reported an error


def ask(client: httpx.Client, url: str, index: int, mixed: bool = True) -> int:
    """The status of request number `index` of the mix (only /chat unless `mixed`)."""
    question = QUESTIONS[index % len(QUESTIONS)]
    kind = index % 4 if mixed else 0
    if kind == 0:
        return client.post(f"{url}/chat", json={"message": question}).status_code
    if kind == 1:
        with client.stream("POST", f"{url}/chat/stream", json={"message": question}) as reply:
            text = "".join(reply.iter_text())
        return STREAM_FAILED if "event: error" in text else reply.status_code
    if kind == 2:
        return client.get(f"{url}/search", params={"q": question, "k": 5}).status_code
    messages = [{"role": "user", "content": question}]
    body = {"model": "summit", "messages": messages}
    return client.post(f"{url}/v1/chat/completions", json=body).status_code
