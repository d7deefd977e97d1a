# viva's phonemizer process: espeak-ng's text-to-IPA, one line in, one line out.
#
# Run by viva as `python3 -c <this file> LIBRARY DATA VOICE`. espeak-ng is GPL-3; it is loaded
# here, in a process of its own, and never into viva. Standard library only.
import ctypes
import sys

CHARS_UTF8 = 1
PHONEMES_IPA = 0x02
AUDIO_OUTPUT_SYNCHRONOUS = 0x02


def main():
    library, data, voice = sys.argv[1], sys.argv[2], sys.argv[3]
    espeak = ctypes.CDLL(library)
    espeak.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    espeak.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    espeak.espeak_TextToPhonemes.restype = ctypes.c_char_p
    espeak.espeak_TextToPhonemes.argtypes = [
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    if espeak.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), 0) < 0:
        sys.exit(f"espeak-ng could not start with its data at {data}")
    if espeak.espeak_SetVoiceByName(voice.encode()) != 0:
        sys.exit(f"espeak-ng has no voice {voice}")
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        text = ctypes.create_string_buffer(line.strip())
        pointer = ctypes.c_void_p(ctypes.addressof(text))
        clauses = []
        while pointer.value:
            phonemes = espeak.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, PHONEMES_IPA)
            if phonemes:
                clauses.append(phonemes.strip())
        out.write(b" ".join(clauses).replace(b"\n", b" ") + b"\n")
        out.flush()


main()
