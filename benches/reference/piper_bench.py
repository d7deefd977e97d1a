#!/usr/bin/env python3
"""Reference timings for benches/voice.rs: Piper's own runtime (the piper-tts package, with its
espeak-ng phonemizer and onnxruntime) speaking the same texts with the same voice on the same
number of threads.

Usage: piper_bench.py MODEL.onnx THREADS RUNS TEXT...
Prints one JSON object per text:
  median_s, min_s   the whole text: phonemize, then every sentence through the voice;
  first_audio_s     the median time until the first sentence's audio is there (what a reply
                    waits for before it is heard);
  audio_s           seconds of audio the whole text gave;
  ids               the first sentence's phoneme ids (to check viva feeds the voice the same).
"""
import json
import statistics
import sys
import time

import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig


def median_time(runs, action):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def main() -> None:
    model, threads, runs, texts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    with open(model + ".json", encoding="utf-8") as config:
        config = PiperConfig.from_dict(json.load(config))
    session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    voice = PiperVoice(config=config, session=session)
    for text in texts:
        chunks = list(voice.synthesize(text))  # warm-up
        whole_s, whole_min_s = median_time(runs, lambda: list(voice.synthesize(text)))
        first_s, _ = median_time(runs, lambda: next(iter(voice.synthesize(text))))
        print(json.dumps({
            "text": text,
            "median_s": whole_s,
            "min_s": whole_min_s,
            "first_audio_s": first_s,
            "audio_s": sum(len(c.audio_float_array) for c in chunks) / config.sample_rate,
            "ids": chunks[0].phoneme_ids if chunks else [],
        }), flush=True)


if __name__ == "__main__":
    main()
