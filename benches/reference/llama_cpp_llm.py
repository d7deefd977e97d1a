"""llama.cpp (through llama-cpp-python) on the same GGUF, tokens and threads as benches/llm.rs.

Reads a JSON job on stdin: {"model", "threads", "prompt": [ids], "history": [ids],
"second_turn": [ids], "decode_tokens", "runs"} and prints one JSON line with the medians:
prefill_ms (the prompt plus the first token), second_turn_ms (first token of a second turn
whose history is already evaluated), decode_tokens_per_s (greedy, end-of-turn ignored).
"""

import json
import statistics
import sys
import time

from llama_cpp import Llama


def first_token_ms(llm, tokens):
    start = time.perf_counter()
    llm.eval(tokens)
    llm.sample(temp=0.0)
    return (time.perf_counter() - start) * 1000.0


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
        prefill.append(first_token_ms(llm, job["prompt"]))

        start = time.perf_counter()
        for _ in range(job["decode_tokens"]):
            token = llm.sample(temp=0.0)
            llm.eval([token])
        decode.append(job["decode_tokens"] / (time.perf_counter() - start))

        llm.reset()
        llm.eval(job["history"])
        second.append(first_token_ms(llm, job["second_turn"]))
    print(json.dumps({
        "prefill_ms": statistics.median(prefill),
        "second_turn_ms": statistics.median(second),
        "decode_tokens_per_s": statistics.median(decode),
    }))


if __name__ == "__main__":
    main()
