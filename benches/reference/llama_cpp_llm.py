"""llama.cpp (through llama-cpp-python) on the same GGUF, tokens and threads as benches/llm.rs.

Reads a JSON job on stdin: {"model", "threads", "prompt": [ids], "history": [ids],
"second_turn": [ids], "decode_tokens", "runs"} and prints one JSON line with the medians:
prefill_ms (the prompt plus the first token), second_turn_ms (first token of a second turn
whose history is already evaluated), decode_tokens_per_s (greedy, end-of-turn ignored).
(`Llama.eval` + `Llama.sample` crash in llama-cpp-python 0.3.36, so this uses `generate`.)
"""

import json
import statistics
import sys
import time

from llama_cpp import Llama


def first_token_ms(llm, tokens):
    """Time to the first greedy token; `generate` reuses the evaluated common prefix."""
    start = time.perf_counter()
    tokens_out = llm.generate(tokens, temp=0.0, top_k=1, repeat_penalty=1.0)
    next(tokens_out)
    elapsed = (time.perf_counter() - start) * 1000.0
    return elapsed, tokens_out


def main():
    job = json.load(sys.stdin)
    llm = Llama(
        model_path=job["model"],
        n_ctx=2048,
        n_threads=job["threads"],
        n_threads_batch=job["threads"],
        n_batch=512,
        verbose=False,
    )
    prefill, second, decode = [], [], []
    for _ in range(job["runs"]):
        llm.reset()
        elapsed, tokens_out = first_token_ms(llm, job["prompt"])
        prefill.append(elapsed)

        start = time.perf_counter()
        for _ in range(job["decode_tokens"]):
            next(tokens_out)
        decode.append(job["decode_tokens"] / (time.perf_counter() - start))

        llm.reset()
        llm.eval(job["history"])
        elapsed, _ = first_token_ms(llm, job["history"] + job["second_turn"])
        second.append(elapsed)
    print(json.dumps({
        "prefill_ms": statistics.median(prefill),
        "second_turn_ms": statistics.median(second),
        "decode_tokens_per_s": statistics.median(decode),
    }))


if __name__ == "__main__":
    main()
