// AudioWorklet: the interviewer's voice as the server speaks it (docs/protocol.md, `voice`),
// played gap-free. The page runs it on an AudioContext at the voice's own sample rate, so the
// samples go out as they came, one after the other; the browser converts to the device's rate.
//
// Messages from the page:
//   {type: 'chunk', seq, epoch, messageId, sentence, samples: Float32Array}  queue one sentence
//   {type: 'stop', at}    drop everything queued: silence from the next render quantum on
// Messages to the page:
//   {type: 'sentence', messageId, sentence, epoch, samples}  that sentence's first sample goes
//                                  out now (`epoch`: its chunk's)
//   {type: 'progress', samples}   every PROGRESS_SECONDS while playing
//   {type: 'idle', samples, through}   the queue ran dry (chunks up to seq `through` are done)
//   {type: 'stopped', samples, dropped, through, at}   answers `stop`: `dropped` samples were
//                                  queued and will never play; `at` is the stop's own `at`
// `samples` is always the count of voice samples actually written to the output so far
// (silence is not counted).

const PROGRESS_SECONDS = 0.05;

class VoicePlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    /** Sentences waiting or playing: the `chunk` messages. */
    this.queue = [];
    /** Samples of queue[0] already written. */
    this.offset = 0;
    /** The seq of the last chunk received. */
    this.received = 0;
    this.samplesPlayed = 0;
    /** Something was queued since the last `idle` or `stopped`. */
    this.active = false;
    this.sinceProgress = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message?.type === 'chunk') {
      this.queue.push(message);
      this.received = message.seq;
      this.active = true;
    } else if (message?.type === 'stop') {
      let dropped = 0;
      for (const chunk of this.queue) dropped += chunk.samples.length;
      dropped -= this.offset;
      this.queue = [];
      this.offset = 0;
      this.active = false;
      this.port.postMessage({
        type: 'stopped',
        samples: this.samplesPlayed,
        dropped,
        through: this.received,
        at: message.at,
      });
    }
  }

  process(inputs, outputs) {
    const channels = outputs[0];
    const out = channels[0];
    let written = 0;
    while (written < out.length && this.queue.length > 0) {
      const chunk = this.queue[0];
      if (this.offset === 0) {
        this.port.postMessage({
          type: 'sentence',
          messageId: chunk.messageId,
          sentence: chunk.sentence,
          epoch: chunk.epoch,
          samples: this.samplesPlayed + written,
        });
      }
      const n = Math.min(out.length - written, chunk.samples.length - this.offset);
      out.set(chunk.samples.subarray(this.offset, this.offset + n), written);
      written += n;
      this.offset += n;
      if (this.offset >= chunk.samples.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    out.fill(0, written);
    for (let c = 1; c < channels.length; c += 1) channels[c].set(out);
    this.samplesPlayed += written;

    if (this.active && this.queue.length === 0) {
      this.active = false;
      this.port.postMessage({ type: 'idle', samples: this.samplesPlayed, through: this.received });
    } else if (this.active) {
      this.sinceProgress += out.length;
      if (this.sinceProgress >= PROGRESS_SECONDS * sampleRate) {
        this.sinceProgress = 0;
        this.port.postMessage({ type: 'progress', samples: this.samplesPlayed });
      }
    }
    return true;
  }
}

registerProcessor('voice-player', VoicePlayer);
