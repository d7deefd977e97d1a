#!/usr/bin/env python3
"""Reference timings for benches/whisper.rs: faster-whisper (int8, CPU) on the same clips with
the same CTranslate2 weights viva converts from, greedy decoding, no timestamps.

Usage: faster_whisper_bench.py CT2_MODEL_DIR THREADS RUNS CLIP.wav...
Prints one JSON object per clip: {"clip", "median_s", "min_s", "text"}.
"""
import json
import statistics
import sys
import time

from faster_whisper import WhisperModel


def main() -> None:
    model_dir, threads, runs, clips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
    for clip in clips:
        def once() -> str:
            segments, _ = model.transcribe(
                clip,
                language="en",
                beam_size=1,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            return " ".join(s.text.strip() for s in segments)

        text = once()  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            once()
            times.append(time.perf_counter() - started)
        print(json.dumps({"clip": clip, "median_s": statistics.median(times), "min_s": min(times), "text": text}),
              flush=True)


if __name__ == "__main__":
    main()
