// AudioWorklet: the microphone, resampled from the AudioContext's rate to 16 kHz mono, as PCM
// 16-bit little-endian in 20 ms chunks (320 samples, 640 bytes) posted to the page.
//
// Resampling is band-limited: every output sample is a windowed-sinc (Kaiser) low-pass of the
// input around its exact position, cut off at 7 kHz, below the 8 kHz Nyquist frequency of the
// output, so nothing above it folds back into the speech band. The input-to-output ratio is
// kept as an exact fraction (48 kHz → 3/1, 44.1 kHz → 441/160), so every phase of the filter is
// precomputed once and positions never drift.
//
// Messages to the page: {type: 'chunk', pcm: ArrayBuffer(640), rms} for each chunk, rms the
// chunk's root-mean-square level (0..1), and {type: 'flushed', pcm: ArrayBuffer} answering a
// {type: 'flush'} from the page with the samples of the unfinished chunk (possibly none).

const OUTPUT_RATE = 16000;
const CHUNK_SAMPLES = 320;
const CUTOFF_HZ = 7000;
const ZERO_CROSSINGS = 16;
const KAISER_BETA = 7;
const MAX_PHASES = 1024;

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The modified Bessel function I0, by its series. */
function besselI0(x) {
  let sum = 1;
  let term = 1;
  const quarter = (x * x) / 4;
  for (let k = 1; k < 50; k += 1) {
    term *= quarter / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/**
 * The filter, one row of taps per fractional phase. Row p's tap j weighs input sample
 * floor(t) + j - half + 1 for an output at input position t with frac(t) = p / phases.
 */
function designFilter(inputRate) {
  const g = gcd(inputRate, OUTPUT_RATE);
  const step = inputRate / g; // input advance per output sample, in 1/den input samples
  const den = OUTPUT_RATE / g;
  const phases = Math.min(den, MAX_PHASES);
  // Cut-off in cycles per input sample: under both Nyquist frequencies.
  const cutoff = Math.min(CUTOFF_HZ, 0.45 * inputRate) / inputRate;
  const half = Math.max(2, Math.ceil(ZERO_CROSSINGS / (2 * cutoff)));
  const taps = 2 * half;
  const table = new Float32Array(phases * taps);
  const norm = besselI0(KAISER_BETA);
  for (let p = 0; p < phases; p += 1) {
    const frac = p / phases;
    let sum = 0;
    for (let j = 0; j < taps; j += 1) {
      const d = frac - (j - half + 1); // distance from the output position to the input sample
      const x = 2 * cutoff * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = d / half;
      const window = Math.abs(r) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / norm;
      const h = 2 * cutoff * sinc * window;
      table[p * taps + j] = h;
      sum += h;
    }
    // Unit gain at DC for every phase.
    for (let j = 0; j < taps; j += 1) table[p * taps + j] /= sum;
  }
  return { step, den, phases, half, taps, table };
}

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.filter = designFilter(sampleRate);
    const { half } = this.filter;
    // Input history: buffer[i] is input sample bufferStart + i. It starts with `half` zeros so
    // the first outputs have their left-hand taps.
    this.buffer = new Float32Array(16384);
    this.bufferStart = -half;
    this.bufferLength = half;
    // The next output's input position: posInt + posNum / den.
    this.posInt = 0;
    this.posNum = 0;
    this.chunk = new Float32Array(CHUNK_SAMPLES);
    this.chunkLength = 0;
    this.port.onmessage = (event) => {
      if (event.data?.type === 'flush') {
        const pcm = encode(this.chunk, this.chunkLength);
        this.chunkLength = 0;
        this.port.postMessage({ type: 'flushed', pcm }, [pcm]);
      }
    };
  }

  append(channels, frames) {
    if (this.bufferLength + frames > this.buffer.length) {
      // Drop what no future output needs: everything left of the next output's first tap.
      const keepFrom = this.posInt - this.filter.half + 1 - this.bufferStart;
      if (keepFrom > 0) {
        this.buffer.copyWithin(0, keepFrom, this.bufferLength);
        this.bufferLength -= keepFrom;
        this.bufferStart += keepFrom;
      }
      if (this.bufferLength + frames > this.buffer.length) {
        const bigger = new Float32Array((this.bufferLength + frames) * 2);
        bigger.set(this.buffer.subarray(0, this.bufferLength));
        this.buffer = bigger;
      }
    }
    const out = this.buffer;
    const base = this.bufferLength;
    if (channels.length === 1) {
      out.set(channels[0].subarray(0, frames), base);
    } else {
      // Mix down to mono.
      const scale = 1 / channels.length;
      for (let i = 0; i < frames; i += 1) {
        let sum = 0;
        for (const channel of channels) sum += channel[i];
        out[base + i] = sum * scale;
      }
    }
    this.bufferLength += frames;
  }

  resample() {
    const { step, den, phases, half, taps, table } = this.filter;
    const end = this.bufferStart + this.bufferLength; // one past the last input sample held
    while (this.posInt + half < end) {
      const phase = phases === den ? this.posNum : Math.floor((this.posNum * phases) / den);
      const row = phase * taps;
      const first = this.posInt - half + 1 - this.bufferStart;
      let acc = 0;
      for (let j = 0; j < taps; j += 1) acc += table[row + j] * this.buffer[first + j];
      this.chunk[this.chunkLength] = acc;
      this.chunkLength += 1;
      if (this.chunkLength === CHUNK_SAMPLES) this.emit();
      this.posNum += step;
      if (this.posNum >= den) {
        this.posInt += Math.floor(this.posNum / den);
        this.posNum %= den;
      }
    }
  }

  emit() {
    let energy = 0;
    for (let i = 0; i < CHUNK_SAMPLES; i += 1) energy += this.chunk[i] * this.chunk[i];
    const rms = Math.sqrt(energy / CHUNK_SAMPLES);
    const pcm = encode(this.chunk, CHUNK_SAMPLES);
    this.chunkLength = 0;
    this.port.postMessage({ type: 'chunk', pcm, rms }, [pcm]);
  }

  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length > 0 && channels[0].length > 0) {
      this.append(channels, channels[0].length);
      this.resample();
    }
    return true;
  }
}

/** The first `length` samples as PCM 16-bit little-endian, clipped to the 16-bit range. */
function encode(samples, length) {
  const bytes = new ArrayBuffer(length * 2);
  const view = new DataView(bytes);
  for (let i = 0; i < length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(i * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return bytes;
}

registerProcessor('pcm-capture', PcmCapture);
