// The live interview's core, shared by the signed-in interview page (interview.js) and the
// candidate's invite page (candidate.js): one WebSocket to the server (docs/protocol.md),
// microphone audio up as 16 kHz PCM16 from an AudioWorklet (pcm-worklet.js), the interviewer's
// words down, spoken by the server's own voice (its audio played by voice-worklet.js, the sentence
// heard shown as a caption) or by the browser's speech synthesis, and the conversation drawn as
// it goes.
// A page calls init(options) with its elements and how it reaches the interview, show() with the
// interview once loaded, and connect() (or lets Start connect).
//
// Audio goes up only while the server listens and the interviewer's voice is silent (so the
// voice is not heard back as an answer), and in push-to-talk mode only while the talk button or
// the Space bar is held. In hands-free mode, speaking over the voice for a moment (barge-in)
// stops it: the page sends `interrupt` and the answer's first words, kept meanwhile.

import { capitalize, formatDate, humanize, isClosedStatus, STATUS_LABELS } from './api.js';

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
/** Another node runs the interview (it holds its lease): connect again in a moment. */
const CLOSE_HELD_ELSEWHERE = 4003;
/** The server is restarting or handed the interview over: connect again at once. */
const CLOSE_RECONNECT = 1012;
const RETRY_HELD_ELSEWHERE_MS = 1000;
const CLOSE_TAKEN_OVER = 4000;
/** The invite the connection was opened with was revoked, or expired (after an `error` event). */
const CLOSE_INVITE_ENDED = 4001;
const CHUNK_MS = 20;
/**
 * Barge-in: the microphone's level (RMS, 0..1, through an envelope that falls with a 150 ms time
 * constant so the dips between syllables do not reset it) held this long over the voice.
 */
const BARGE_IN_LEVEL = 0.04;
const BARGE_IN_MS = 300;
const BARGE_IN_RELEASE_MS = 150;
/** Audio kept while the voice plays, to open an answer that barges in (400 ms). */
const PREROLL_CHUNKS = 20;
/** At most this much audio waits for the server to stop speaking after a barge-in (1.5 s). */
const QUEUE_MAX_CHUNKS = 75;
/** Without an `end` event, an utterance counts as finished after its words at this pace + slack. */
const WORDS_PER_SECOND = 2.5;
const SPEECH_SLACK_MS = 1000;
/** The server's voice: the player's sample rate before the first `voice` event names one (Piper's
 * medium voices), and the slack after a reply's words before its voice counts as over without a
 * `voice_end` (sentences still being synthesised and sent). */
const VOICE_RATE = 22050;
const VOICE_SLACK_MS = 5000;
const FLUSH_WAIT_MS = 250;
const MAX_TEXT = 4000;

const STATE_TEXT = {
  idle: 'Not started',
  listening: 'Your turn: listening',
  transcribing: 'Transcribing your answer…',
  thinking: 'The interviewer is thinking…',
  speaking: 'The interviewer is speaking',
};

const ERROR_TEXT = {
  busy: 'The server is busy right now and could not handle that. Wait a moment, then answer again (or press Resume).',
  internal: 'Something went wrong on the server. Try again; if it keeps happening, reload the page.',
  database_unavailable: 'The server cannot reach its database, so your last answer was not saved. Wait a moment, then send it again.',
  not_your_turn: 'Wait for the interviewer to finish, then answer.',
  not_started: 'The interview has not started yet: press Start first.',
  interview_over: 'This interview is over.',
  models_unavailable: 'The server is running without its speech and language models, so live interviews are unavailable.',
};

/** Error events that end an invite's connection for good (close code 4001 follows). */
const INVITE_ENDED_TEXT = {
  invite_revoked: 'The recruiter withdrew this interview link, so the interview has stopped.',
  invite_expired: 'This interview link has expired, so the interview has stopped.',
};

const ENDED_TEXT = {
  completed: 'The interview is complete: every question has been asked.',
  finished: 'You finished the interview.',
  time_limit: 'Time is up: the interview has ended.',
};

/** The page's elements, by the names below (init's `ui`); the ids are interview.html's. */
let ui = null;

/** How the page reaches its interview, and what it shows around it (init's `options`). */
const config = {
  /** The WebSocket's path and query for interview `id`. */
  socketPath: (id) => `/api/v1/interviews/${encodeURIComponent(id)}/ws`,
  /** Loads the interview again (after a refused connection); rejects with an ApiError. */
  reload: async () => null,
  /** Whether reload()'s error means the interview cannot be reached (no retrying). */
  isFatal: () => false,
  /** Shows why the interview cannot be reached (reload()'s error); the live part has stopped. */
  onFatal: () => {},
  /** False: no feedback or scores are shown (an invite whose recruiter keeps them). */
  showScores: true,
  /** Whether Start may be pressed, besides the connection (the invite page's consent). */
  canStart: () => true,
  /** Whether Start turns the microphone on (false: the person chose to type). */
  useMic: () => true,
  /** Runs on the first Start, before the microphone and the interview start. */
  onBegin: () => {},
  /** The link shown once the interview is over; null for none. */
  overLink: { href: '/', text: 'Back to my interviews' },
  /** Runs once the interview is over: `{ reason, text, report }` (reason null: over on arrival). */
  onOver: () => {},
  /** Runs when the invite ended under the open connection: `{ code, text }`. */
  onInviteEnded: () => {},
  /** The heading for the interview, given its type's name. */
  title: (interview, typeName) => `${typeName} interview`,
  /** The header's last fact before the interview starts (default: when it was created). */
  note: (interview) => (interview.created_at ? `created ${formatDate(interview.created_at)}` : ''),
  /** Every 20 ms chunk while the microphone is on: its RMS (0..1) and the meter's level (0..1). */
  onLevel: () => {},
};

const live = {
  interviewId: null,
  interview: null,
  types: [],
  ws: null,
  /** A `ready` arrived on the current socket. */
  connected: false,
  backoff: BACKOFF_FIRST_MS,
  reconnectTimer: null,
  /** The interview ended (or was over on arrival): nothing reconnects. */
  over: false,
  takenOver: false,
  /** The server's state. */
  state: 'idle',
  speechHeard: false,
  /** The person pressed Start in this page: a reconnect resumes by itself. */
  started: false,
  finishing: false,
  micProblem: '',
  /** Why the microphone last failed: unsupported, insecure, blocked, missing, busy, failed, stopped. */
  micFailure: '',
  mic: null,
  /** ensureMic()'s answer while it asks for the microphone. */
  micStarting: null,
  /** Bumped by stopMic(): a microphone still being opened is closed again. */
  micEpoch: 0,
  mode: 'hands-free',
  muted: false,
  holding: false,
  awaitingFlush: false,
  flushTimer: null,
  sentThisHold: false,
  /** While the voice plays: the level's envelope, and how long (ms) it stayed over BARGE_IN_LEVEL. */
  bargeLevel: 0,
  bargeMs: 0,
  /** Sent `interrupt`; audio waits in `queue` until the server listens again. */
  bargedIn: false,
  recent: [],
  queue: [],
  lastText: '',
  meterLevel: 0,
  micLabel: '',
};

// ---------------------------------------------------------------------------------------------
// The interviewer's voice
//
// `ready.voice` says who speaks: 'local' (the server sends each sentence as audio in `voice`
// events, played by voice-worklet.js), 'browser' (the browser's speech synthesis reads the
// reply pieces) or 'off' (silent). Either way voiceSpeaking() is true while the interviewer is
// heard, which keeps the microphone's audio back and arms barge-in.

const speech = {
  synth: 'speechSynthesis' in window ? window.speechSynthesis : null,
  voice: null,
  /** Utterances queued and not yet finished: id → fallback timer. */
  pending: new Map(),
  nextId: 0,
  /** When the last queued utterance is expected to end, by the word-count estimate. */
  expectedEnd: 0,
  /** Per reply (message id): the text already handed to the synthesiser. */
  spoken: new Map(),
  /** Replies the candidate talked over: their late pieces stay silent. */
  silenced: new Set(),
};

/** The server's voice (`local`): the player and what it is expected to say. */
const player = {
  /** `ready.voice`: 'local', 'browser' or 'off' (a server that does not say: 'browser'); null
   * before the first `ready`. */
  mode: null,
  context: null,
  node: null,
  /** Resolves to whether the worklet runs (null: no player yet). */
  ready: null,
  /** The sample rate of the last voice heard. */
  rate: VOICE_RATE,
  /** The player cannot run in this browser. */
  failed: false,
  /** Bumped by stopPlayer(): sentences still on their way to the worklet are dropped. */
  epoch: 0,
  /** The number of the last sentence queued, and of the last the worklet finished or dropped. */
  queued: 0,
  done: 0,
  /** When the audio queued so far should have played out (performance.now() ms). */
  queuedEnd: 0,
  /** Messages whose voice is expected, from their first `reply_delta` to their `voice_end` (or
   * the safety deadline): id → { deadline, timer }. */
  expected: new Map(),
  /** Messages the candidate stopped (barge-in, typing, mute): their late sentences stay silent. */
  silenced: new Set(),
  /** Sentence texts waiting for the caption, by `${message id} ${sentence}`. */
  texts: new Map(),
  /** Samples played by the players closed before this one. */
  samplesBefore: 0,
};

/** What the server's voice did, for tests and debugging (window.vivaVoice, read-only). */
const voiceStats = {
  /** `voice` events queued for playing. */
  received: 0,
  /** Sentences that started playing: [{ message_id, sentence }]. */
  played: [],
  /** `voice_end` events: [{ message_id, sentences, interrupted }]. */
  ended: [],
  /** Voice samples the worklet wrote to the output (silence not counted). */
  samplesPlayed: 0,
  /** performance.now() of the last `stop` sent to the worklet, and of its answer. */
  lastStopRequestAt: null,
  stoppedAt: null,
  /** Samples that were queued and never played when it stopped. */
  droppedAtStop: null,
};

function pickVoice() {
  if (!speech.synth) return;
  let voices = [];
  try {
    voices = speech.synth.getVoices();
  } catch {
    voices = [];
  }
  const english = voices.filter((voice) => /^en\b|^en[-_]/i.test(voice.lang));
  speech.voice =
    english.find((voice) => voice.default) ?? english.find((voice) => voice.localService) ?? english[0] ??
    voices.find((voice) => voice.default) ?? voices[0] ?? null;
}

/** The server's voice has something to say or is saying it. */
const localSpeaking = () => player.expected.size > 0 || player.queued > player.done;

const voiceSpeaking = () => speech.pending.size > 0 || localSpeaking();

/** Splits text into sentences: short utterances (some engines cut long ones off). */
function sentences(text) {
  return (text.match(/[^.!?…]+(?:[.!?…]+["”’)]*|$)\s*/g) ?? [text]).map((part) => part.trim()).filter(Boolean);
}

const wordCount = (text) => text.split(/\s+/).filter(Boolean).length;

function speak(text) {
  if (live.muted || !speech.synth || !text.trim()) return;
  if (!speech.voice) pickVoice();
  if (!speech.voice) {
    // Headless browsers and some systems have no voice at all: never wait for one.
    showVoiceNote('This browser has no speech voice, so the interviewer is silent: read its words in the conversation.');
    return;
  }
  for (const part of sentences(text)) {
    const id = ++speech.nextId;
    const utterance = new SpeechSynthesisUtterance(part);
    utterance.voice = speech.voice;
    utterance.lang = speech.voice.lang || 'en-US';
    const now = performance.now();
    speech.expectedEnd = Math.max(now, speech.expectedEnd) + (wordCount(part) / WORDS_PER_SECOND) * 1000 + SPEECH_SLACK_MS;
    const timer = setTimeout(() => utteranceDone(id), speech.expectedEnd - now);
    speech.pending.set(id, timer);
    utterance.onend = () => utteranceDone(id);
    utterance.onerror = () => utteranceDone(id);
    try {
      speech.synth.speak(utterance);
    } catch {
      utteranceDone(id);
    }
  }
  refresh();
}

function utteranceDone(id) {
  if (!speech.pending.has(id)) return;
  clearTimeout(speech.pending.get(id));
  speech.pending.delete(id);
  if (speech.pending.size === 0) voiceStopped();
}

/** Silences the interviewer at once: the browser's voice, and the server's (whose sentences
 * still on their way stay silent). Tells the server nothing: see hushServer(). */
function cancelSpeech() {
  const wasSpeaking = voiceSpeaking();
  for (const timer of speech.pending.values()) clearTimeout(timer);
  speech.pending.clear();
  try {
    speech.synth?.cancel();
  } catch {
    // nothing to stop
  }
  for (const [id, expected] of player.expected) {
    clearTimeout(expected.timer);
    player.silenced.add(id);
  }
  player.expected.clear();
  stopPlayer();
  if (wasSpeaking) voiceStopped();
}

/** After cancelSpeech() while the server was still speaking a finished reply: it stops too. */
function hushServer(wasSpeaking) {
  if (wasSpeaking && player.mode === 'local' && live.state === 'listening') sendJson({ type: 'interrupt' });
}

function voiceStopped() {
  speech.expectedEnd = 0;
  live.recent = [];
  live.bargeLevel = 0;
  live.bargeMs = 0;
  refresh();
}

/** A reply's next piece: spoken at once (the acknowledgement comes first, the question later). */
function speakDelta(messageId, text) {
  if (player.mode === 'local') {
    expectVoice(messageId);
    return;
  }
  if (player.mode !== 'browser' || speech.silenced.has(messageId)) return;
  speech.spoken.set(messageId, (speech.spoken.get(messageId) ?? '') + text);
  speak(text);
}

/** The finished reply: speaks what its pieces did not already say. */
function speakReply(message) {
  if (player.mode === 'local') {
    if (message.interrupted) cancelSpeech();
    // The whole text is known: however its voice goes, it is over after its words (and slack).
    else armVoiceDeadline(message.id, (wordCount(message.text ?? '') / WORDS_PER_SECOND) * 1000 + VOICE_SLACK_MS);
    return;
  }
  if (player.mode !== 'browser') return;
  const said = speech.spoken.get(message.id) ?? '';
  speech.spoken.delete(message.id);
  if (speech.silenced.delete(message.id)) return;
  if (message.interrupted) {
    cancelSpeech();
    return;
  }
  if (!said) speak(message.text);
  else if (message.text.startsWith(said)) speak(message.text.slice(said.length));
}

/** Who speaks, from `ready`; `off` says so once, quietly. */
function setVoiceMode(mode) {
  const next = ['local', 'browser', 'off'].includes(mode) ? mode : 'browser';
  if (next !== player.mode) cancelSpeech();
  if (next !== 'local') closePlayer();
  player.mode = next;
  if (next === 'off') showVoiceNote('The interviewer is silent on this server: read its words in the conversation.');
  else if (!(next === 'local' && player.failed)) ui.voiceNote.hidden = true;
}

function showVoiceNote(text) {
  ui.voiceNote.textContent = text;
  ui.voiceNote.hidden = false;
}

// The server's voice (`local`).

/** The message's voice is expected: from its first `reply_delta` (or `voice`) on. */
function expectVoice(id) {
  if (live.muted || player.failed || player.silenced.has(id) || player.expected.has(id)) return;
  player.expected.set(id, { deadline: 0, timer: null });
  refresh();
}

/** The message's voice counts as over `ms` from now at the latest (a lost `voice_end`, a
 * browser that does not play). Only ever pushed later. */
function armVoiceDeadline(id, ms) {
  const expected = player.expected.get(id);
  const deadline = performance.now() + ms;
  if (!expected || expected.deadline >= deadline) return;
  clearTimeout(expected.timer);
  expected.deadline = deadline;
  expected.timer = setTimeout(() => voiceOverdue(id), ms);
}

function voiceOverdue(id) {
  voiceEnded(id);
  // Audio that never played (the browser kept the player suspended) is not waited for.
  if (player.context?.state !== 'running' && player.queued > player.done) {
    stopPlayer();
    showVoiceNote('The browser did not let the interviewer’s voice play: read its words in the conversation.');
    afterVoice();
  }
}

function voiceEnded(id) {
  const expected = player.expected.get(id);
  if (!expected) return;
  clearTimeout(expected.timer);
  player.expected.delete(id);
  afterVoice();
}

function afterVoice() {
  if (voiceSpeaking()) refresh();
  else voiceStopped();
}

/** A `voice` event: one sentence of an interviewer message, queued to play. */
function onVoice({ message_id: id, sentence, text, sample_rate: rate, audio }) {
  if (player.mode !== 'local' || live.muted || player.failed || player.silenced.has(id)) return;
  let samples;
  try {
    samples = decodePcm16(audio ?? '');
  } catch {
    return;
  }
  if (!samples.length || !(rate > 0)) return;
  expectVoice(id);
  voiceStats.received += 1;
  player.texts.set(`${id} ${sentence}`, text ?? '');
  enqueue(id, sentence, rate, samples);
  armVoiceDeadline(id, player.queuedEnd - performance.now() + VOICE_SLACK_MS);
}

function onVoiceEnd({ message_id: id, sentences: count, interrupted }) {
  voiceStats.ended.push({ message_id: id, sentences: count, interrupted: Boolean(interrupted) });
  voiceEnded(id);
}

/** 16-bit signed little-endian PCM in base64 → samples in -1..1. */
function decodePcm16(base64) {
  const bytes = atob(base64);
  const samples = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < samples.length; i += 1) {
    const value = bytes.charCodeAt(2 * i) | (bytes.charCodeAt(2 * i + 1) << 8);
    samples[i] = (value >= 0x8000 ? value - 0x10000 : value) / 32768;
  }
  return samples;
}

/** The player at sample rate `rate` (made once, again when the rate changes); resolves to
 * whether it runs. */
function ensurePlayer(rate) {
  if (player.ready && player.context?.sampleRate === rate) return player.ready;
  closePlayer();
  player.rate = rate;
  let context;
  try {
    context = new AudioContext({ sampleRate: rate, latencyHint: 'interactive' });
  } catch (error) {
    player.ready = Promise.resolve(playerFailed(error));
    return player.ready;
  }
  player.context = context;
  player.ready = context.audioWorklet
    .addModule('/voice-worklet.js')
    .then(() => {
      if (player.context !== context) return false;
      const node = new AudioWorkletNode(context, 'voice-player', {
        numberOfInputs: 0,
        numberOfOutputs: 1,
        outputChannelCount: [1],
      });
      node.port.onmessage = (event) => onPlayerMessage(event.data);
      node.connect(context.destination);
      player.node = node;
      return true;
    })
    .catch((error) => (player.context === context ? playerFailed(error) : false));
  context.resume().catch(() => {});
  return player.ready;
}

function closePlayer() {
  stopPlayer();
  if (player.node) player.node.port.onmessage = null;
  player.samplesBefore = voiceStats.samplesPlayed;
  player.context?.close().catch(() => {});
  player.context = null;
  player.node = null;
  player.ready = null;
}

function playerFailed(error) {
  player.failed = true;
  player.done = player.queued;
  for (const expected of player.expected.values()) clearTimeout(expected.timer);
  player.expected.clear();
  showVoiceNote(`The interviewer’s voice cannot play in this browser (${error?.message || error?.name || 'unknown error'}): read its words in the conversation.`);
  afterVoice();
  return false;
}

/** Called on the click that starts the interview: browsers let audio start on a click. */
function unlockPlayer() {
  // Before the first `ready` (a page that connects on Start) the server may well speak.
  if ((player.mode !== 'local' && player.mode !== null) || player.failed) return;
  ensurePlayer(player.rate);
  player.context?.resume().catch(() => {});
}

function enqueue(id, sentence, rate, samples) {
  const ready = ensurePlayer(rate);
  const seq = ++player.queued;
  const epoch = player.epoch;
  const now = performance.now();
  player.queuedEnd = Math.max(now, player.queuedEnd) + (samples.length / rate) * 1000;
  ready.then((running) => {
    if (epoch !== player.epoch) return;
    if (!running) {
      player.done = Math.max(player.done, seq);
      afterVoice();
      return;
    }
    player.node.port.postMessage({ type: 'chunk', seq, epoch, messageId: id, sentence, samples }, [samples.buffer]);
  });
}

/** Stops the server's voice now: the worklet drops its queue and plays silence. */
function stopPlayer() {
  const playing = player.queued > player.done;
  player.epoch += 1;
  player.done = player.queued;
  player.queuedEnd = 0;
  player.texts.clear();
  hideCaption();
  if (playing && player.node) {
    voiceStats.lastStopRequestAt = performance.now();
    player.node.port.postMessage({ type: 'stop', at: voiceStats.lastStopRequestAt });
  }
}

function onPlayerMessage(message) {
  if (typeof message?.samples === 'number') voiceStats.samplesPlayed = player.samplesBefore + message.samples;
  switch (message?.type) {
    case 'sentence':
      voiceStats.played.push({ message_id: message.messageId, sentence: message.sentence });
      if (message.epoch === player.epoch) showCaption(message.messageId, message.sentence);
      break;
    case 'idle':
      player.done = Math.max(player.done, message.through);
      hideCaption();
      afterVoice();
      break;
    case 'stopped':
      voiceStats.stoppedAt = performance.now();
      voiceStats.droppedAtStop = message.dropped;
      player.done = Math.max(player.done, message.through);
      break;
    default:
      break;
  }
}

/** The sentence being heard, under the controls (the conversation has the whole message). */
function showCaption(id, sentence) {
  const key = `${id} ${sentence}`;
  const text = player.texts.get(key) ?? '';
  player.texts.delete(key);
  if (!ui.caption) return;
  ui.caption.textContent = text;
  ui.caption.dataset.messageId = id;
  ui.caption.dataset.sentence = String(sentence);
  ui.caption.hidden = !text;
}

function hideCaption() {
  if (!ui?.caption) return;
  ui.caption.hidden = true;
  ui.caption.textContent = '';
  delete ui.caption.dataset.messageId;
  delete ui.caption.dataset.sentence;
}

/** window.vivaVoice: voiceStats read-only (copies), plus the mode and whether it speaks. */
const voiceView = Object.freeze({
  get mode() {
    return player.mode;
  },
  get speaking() {
    return voiceSpeaking();
  },
  /** The player's sample rate (the last voice's). */
  get sampleRate() {
    return player.rate;
  },
  get received() {
    return voiceStats.received;
  },
  get played() {
    return voiceStats.played.map((entry) => ({ ...entry }));
  },
  get ended() {
    return voiceStats.ended.map((entry) => ({ ...entry }));
  },
  get samplesPlayed() {
    return voiceStats.samplesPlayed;
  },
  get lastStopRequestAt() {
    return voiceStats.lastStopRequestAt;
  },
  get stoppedAt() {
    return voiceStats.stoppedAt;
  },
  get droppedAtStop() {
    return voiceStats.droppedAtStop;
  },
});

// ---------------------------------------------------------------------------------------------
// The microphone

/**
 * Turns the microphone on (once; later calls resume it). Resolves to true when it runs, false
 * when it cannot (the reason shown, and named by micFailure()).
 */
export function ensureMic() {
  if (live.mic) return live.mic.context.resume().catch(() => {}).then(() => true);
  // A second call while the first asks for the microphone waits for the same answer.
  live.micStarting ??= openMic().finally(() => {
    live.micStarting = null;
  });
  return live.micStarting;
}

async function openMic() {
  // stopMic() while the browser asks: the answer is not wanted any more.
  const epoch = live.micEpoch;
  live.micProblem = '';
  live.micFailure = '';
  if (!navigator.mediaDevices?.getUserMedia || !window.AudioWorkletNode) {
    return window.isSecureContext
      ? micFailed('unsupported', 'This browser cannot record audio here. You can type your answers below.')
      : micFailed('insecure', 'The microphone only works on a secure page (https:// or localhost). You can type your answers below.');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (error) {
    return micFailed(...micError(error));
  }
  try {
    const context = new AudioContext();
    await context.audioWorklet.addModule('/pcm-worklet.js');
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, 'pcm-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
    });
    // A silent path to the output keeps the graph pulled in every browser.
    const sink = context.createGain();
    sink.gain.value = 0;
    source.connect(node).connect(sink).connect(context.destination);
    node.port.onmessage = (event) => onWorkletMessage(event.data);
    await context.resume().catch(() => {});
    if (epoch !== live.micEpoch) {
      for (const track of stream.getTracks()) track.stop();
      context.close().catch(() => {});
      return false;
    }
    live.mic = { stream, context, node };
    for (const track of stream.getAudioTracks()) {
      track.addEventListener('ended', () => {
        stopMic();
        micFailed('stopped', 'The microphone stopped (unplugged, or turned off). Press Resume to try again, or type your answers.');
        refresh();
      });
    }
    return true;
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    return micFailed('failed', `Audio processing could not start in this browser (${error.message || error.name}). You can type your answers below.`);
  }
}

/** getUserMedia's error as [kind, text]. */
function micError(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return ['blocked', 'Microphone access is blocked. Allow the microphone for this site (the icon in the address bar), then press Resume; or type your answers below.'];
    case 'NotFoundError':
    case 'OverconstrainedError':
      return ['missing', 'No microphone was found. Connect one, then press Resume; or type your answers below.'];
    case 'NotReadableError':
    case 'AbortError':
      return ['busy', 'The microphone could not be started: another application may be using it. Close that, then press Resume; or type your answers below.'];
    default:
      return ['failed', `The microphone could not be started (${error?.message || error?.name || 'unknown error'}). You can type your answers below.`];
  }
}

function micFailed(kind, text) {
  live.micFailure = kind;
  live.micProblem = text;
  showError(text);
  return false;
}

/** Why the microphone last failed (see live.micFailure), or '' when it did not. */
export const micFailure = () => live.micFailure;

/** Turns the microphone off and forgets its last problem (the person chose to type). */
export function releaseMic() {
  stopMic();
  live.micProblem = '';
  live.micFailure = '';
  clearError();
}

function stopMic() {
  const mic = live.mic;
  live.mic = null;
  live.micEpoch += 1;
  if (live.holding || live.awaitingFlush) endHold({ send: false });
  if (!mic) return;
  mic.node.port.onmessage = null;
  for (const track of mic.stream.getTracks()) track.stop();
  mic.context.close().catch(() => {});
  live.meterLevel = 0;
  ui.meter.value = 0;
  refresh();
}

function onWorkletMessage(message) {
  if (message?.type === 'chunk') onChunk(message.pcm, message.rms);
  else if (message?.type === 'flushed') onFlushed(message.pcm);
}

const socketOpen = () => live.connected && live.ws?.readyState === WebSocket.OPEN && !live.over;

/** Every 20 ms of microphone audio: the meter, barge-in, and whether it goes up. */
function onChunk(pcm, rms) {
  showLevel(rms);
  if (!socketOpen()) return;

  if (voiceSpeaking()) {
    live.recent.push(pcm);
    if (live.recent.length > PREROLL_CHUNKS) live.recent.shift();
    if (live.mode === 'hands-free') {
      live.bargeLevel = Math.max(rms, live.bargeLevel * Math.exp(-CHUNK_MS / BARGE_IN_RELEASE_MS));
      live.bargeMs = live.bargeLevel >= BARGE_IN_LEVEL ? live.bargeMs + CHUNK_MS : 0;
      if (live.bargeMs >= BARGE_IN_MS) bargeIn();
    }
    return;
  }

  if (live.mode === 'push-to-talk' && !live.holding && !live.awaitingFlush) return;
  if (live.state !== 'listening') {
    if (live.bargedIn) {
      live.queue.push(pcm);
      if (live.queue.length > QUEUE_MAX_CHUNKS) live.queue.shift();
    }
    return;
  }
  flushQueue();
  sendAudio(pcm);
}

function sendAudio(pcm) {
  if (!socketOpen() || pcm.byteLength === 0) return;
  live.ws.send(pcm);
  if (live.holding || live.awaitingFlush) live.sentThisHold = true;
}

function flushQueue() {
  const queued = live.queue;
  live.queue = [];
  live.bargedIn = false;
  for (const pcm of queued) sendAudio(pcm);
}

/** The candidate talks over the voice: stop it, tell the server, keep the words. */
function bargeIn() {
  const preroll = live.recent;
  live.recent = [];
  live.bargeLevel = 0;
  live.bargeMs = 0;
  // The reply still arriving is not to be spoken any more.
  for (const id of speech.spoken.keys()) speech.silenced.add(id);
  const serverSpeaking = localSpeaking();
  cancelSpeech();
  // The server stops writing the reply, and its voice stops speaking (even a finished reply).
  if (live.state === 'speaking' || live.state === 'thinking' || serverSpeaking) sendJson({ type: 'interrupt' });
  live.bargedIn = true;
  live.queue = preroll;
  if (live.state === 'listening') flushQueue();
  refresh();
}

function showLevel(rms) {
  const db = 20 * Math.log10(Math.max(rms, 1e-6));
  const level = Math.min(1, Math.max(0, (db + 60) / 60));
  // Rise at once, fall gently.
  live.meterLevel = Math.max(level, live.meterLevel - 0.04);
  ui.meter.value = live.meterLevel;
  config.onLevel(rms, live.meterLevel);
}

// ---------------------------------------------------------------------------------------------
// Push-to-talk

function startHold() {
  if (live.mode !== 'push-to-talk' || live.holding || ui.talk.disabled) return;
  if (live.awaitingFlush) finishHold();
  live.holding = true;
  live.sentThisHold = false;
  // Holding to talk over the interviewer is a barge-in too.
  if (voiceSpeaking() || live.state === 'speaking') bargeIn();
  refresh();
}

function endHold({ send = true } = {}) {
  if (!live.holding) return;
  live.holding = false;
  if (send && live.mic && socketOpen()) {
    // The worklet hands over the unfinished chunk, then the turn ends.
    live.awaitingFlush = true;
    live.mic.node.port.postMessage({ type: 'flush' });
    live.flushTimer = setTimeout(finishHold, FLUSH_WAIT_MS);
  } else {
    live.bargedIn = false;
    live.queue = [];
  }
  refresh();
}

function onFlushed(pcm) {
  if (!live.awaitingFlush) return;
  if (live.state === 'listening' && !voiceSpeaking()) sendAudio(pcm);
  finishHold();
}

function finishHold() {
  clearTimeout(live.flushTimer);
  if (!live.awaitingFlush) return;
  live.awaitingFlush = false;
  live.bargedIn = false;
  live.queue = [];
  // The server may have ended the answer already (a long pause while holding): then it is no
  // longer listening, and an end_turn would only be refused.
  if (live.sentThisHold && live.state === 'listening' && socketOpen()) sendJson({ type: 'end_turn' });
  live.sentThisHold = false;
  refresh();
}

const typingTarget = (target) =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

function onKeyDown(event) {
  if (event.code !== 'Space' || live.mode !== 'push-to-talk' || typingTarget(event.target)) return;
  if (ui.talk.disabled || ui.talk.hidden) return;
  event.preventDefault();
  if (!event.repeat) startHold();
}

function onKeyUp(event) {
  if (event.code !== 'Space' || live.mode !== 'push-to-talk' || typingTarget(event.target)) return;
  event.preventDefault();
  endHold();
}

function setMode(mode, { save = true } = {}) {
  if (mode !== 'push-to-talk') endHold();
  live.mode = mode;
  ui.mode.checked = mode === 'push-to-talk';
  ui.modeHint.textContent =
    mode === 'push-to-talk'
      ? 'Push-to-talk: hold the button below, or the Space bar, while you answer; let go when you are done.'
      : 'Hands-free: just answer. A pause of about a second and a half ends your answer.';
  if (save) store('viva.mode', mode);
  sendMode();
  refresh();
}

/** Tells the server how answers end: in push-to-talk, pauses while holding never end one. */
function sendMode() {
  if (socketOpen()) sendJson({ type: 'mode', mode: live.mode === 'push-to-talk' ? 'push_to_talk' : 'hands_free' });
}

function setMuted(muted, { save = true } = {}) {
  live.muted = muted;
  ui.mute.setAttribute('aria-pressed', String(muted));
  ui.mute.textContent = muted ? 'Unmute interviewer' : 'Mute interviewer';
  if (muted) {
    const serverSpeaking = localSpeaking();
    cancelSpeech();
    hushServer(serverSpeaking);
  }
  if (save) store('viva.muted', muted ? '1' : '0');
  refresh();
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The WebSocket

/** Opens the live connection (again). */
export function connect() {
  // One connection at a time: a second would take the interview over from the first (after a
  // takeover the old one is closing anyway, and taking it back is the point).
  if (live.ws && live.ws.readyState <= WebSocket.OPEN && !live.takenOver) return;
  clearTimeout(live.reconnectTimer);
  live.reconnectTimer = null;
  if (live.over) return;
  live.takenOver = false;
  ui.reconnect.hidden = true;
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  let ws;
  try {
    ws = new WebSocket(`${scheme}://${window.location.host}${config.socketPath(live.interviewId)}`);
  } catch (error) {
    setConnection(`Could not open the live connection (${error.message}).`);
    return;
  }
  ws.binaryType = 'arraybuffer';
  live.ws = ws;
  live.connected = false;
  let opened = false;
  setConnection(live.backoff === BACKOFF_FIRST_MS ? 'Connecting…' : 'Reconnecting…');
  refresh();
  ws.onopen = () => {
    opened = true;
  };
  ws.onmessage = (event) => {
    if (ws !== live.ws || typeof event.data !== 'string') return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    onServerMessage(message);
  };
  ws.onclose = (event) => {
    if (ws !== live.ws) return;
    live.ws = null;
    live.connected = false;
    // No `voice_end` comes on a closed connection: what is queued plays out, nothing more.
    for (const id of [...player.expected.keys()]) voiceEnded(id);
    endHold({ send: false });
    live.finishing = false;
    refresh();
    if (live.over) return;
    if (event.code === CLOSE_INVITE_ENDED) {
      // The `error` event that says why normally comes first (and has ended it already).
      inviteEnded('invite_ended', 'This interview link no longer works, so the interview has stopped.');
      return;
    }
    if (event.code === CLOSE_TAKEN_OVER || live.takenOver) {
      showTakenOver();
      return;
    }
    if (event.code === CLOSE_HELD_ELSEWHERE) {
      // Until the other server lets the interview go (or its lease runs out, if it died).
      scheduleReconnect('The interview is moving to another server.', RETRY_HELD_ELSEWHERE_MS);
      return;
    }
    if (event.code === CLOSE_RECONNECT) {
      scheduleReconnect('The server is restarting.', 0);
      return;
    }
    // A refused upgrade (401, 404, 409, 503) reaches a page only as a failed connection: ask the
    // HTTP API what is wrong before trying again.
    if (!opened) diagnose();
    else scheduleReconnect('The connection was lost.');
  };
}

/** Tries to connect again after `delayMs` (default: the growing backoff), saying `why`. */
function scheduleReconnect(why, delayMs = null) {
  if (live.over || live.takenOver || live.reconnectTimer) return;
  const delay = delayMs ?? live.backoff;
  if (delayMs === null) live.backoff = Math.min(live.backoff * 2, BACKOFF_MAX_MS);
  const seconds = Math.round(delay / 1000);
  setConnection(`${why} Reconnecting in ${seconds} second${seconds === 1 ? '' : 's'}…`);
  live.reconnectTimer = setTimeout(connect, delay);
  // Start waits for that try (a click now would only be refused the same way).
  refresh();
}

async function diagnose() {
  try {
    const interview = await config.reload();
    if (live.over) return;
    live.interview = interview;
    renderHeader();
    if (isClosedStatus(interview.status)) {
      showOver(closedText(interview.status));
      return;
    }
    const refusal = await socketRefusal();
    if (live.over) return;
    scheduleReconnect(
      refusal?.text ?? 'Could not connect to the live interview (the server may be starting, or its speech models unavailable).',
      refusal?.retryMs ?? null,
    );
  } catch (error) {
    if (live.over) return;
    if (config.isFatal(error)) {
      live.over = true;
      stopEverything();
      config.onFatal(error);
    } else {
      scheduleReconnect('Could not reach the server.');
    }
  }
}

/**
 * Why the server refuses the upgrade for a reason that passes, as `{ text, retryMs }`, or null:
 * 429 (this person already holds their most live interviews) or 503 `server_full` (the server
 * holds as many interviews as it can; `retryMs` from its Retry-After). A plain GET of the
 * socket's path gets the same checks as the upgrade, answered in JSON (docs/protocol.md).
 */
async function socketRefusal() {
  try {
    const res = await fetch(config.socketPath(live.interviewId), {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    if (res.status !== 429 && res.status !== 503) return null;
    const data = await res.json().catch(() => null);
    const code = data?.error?.code;
    if (res.status === 503 && code !== 'server_full') return null;
    if (!data?.error?.message) return null;
    const retryAfter = Number(res.headers.get('Retry-After'));
    return {
      text: humanize(data.error.message),
      retryMs: code === 'server_full' && retryAfter > 0 ? retryAfter * 1000 : null,
    };
  } catch {
    return null;
  }
}

const closedText = (status) => `This interview is ${STATUS_LABELS[status]?.toLowerCase() ?? status}.`;

function sendJson(message) {
  if (live.ws?.readyState !== WebSocket.OPEN) return false;
  live.ws.send(JSON.stringify(message));
  return true;
}

function onServerMessage(message) {
  switch (message.type) {
    case 'ready':
      onReady(message);
      break;
    case 'state':
      setState(message.state);
      break;
    case 'speech_started':
      live.speechHeard = true;
      refresh();
      break;
    case 'transcript':
      clearError();
      remember(message.message);
      renderMessage(message.message);
      if (message.message?.text === live.lastText) live.lastText = '';
      break;
    case 'reply_delta':
      appendDelta(message.message_id, message.text ?? '');
      speakDelta(message.message_id, message.text ?? '');
      break;
    case 'reply':
      remember(message.message);
      renderMessage(message.message);
      speakReply(message.message);
      break;
    case 'voice':
      onVoice(message);
      break;
    case 'voice_end':
      onVoiceEnd(message);
      break;
    case 'feedback':
      if (!config.showScores) break;
      rememberFeedback(message.feedback);
      renderFeedback(message.feedback);
      break;
    case 'report':
      if (config.showScores) live.report = message.report;
      break;
    case 'ended':
      onEnded(message.reason);
      break;
    case 'error':
      onServerError(message.code, message.message);
      break;
    default:
      break;
  }
}

/** Keeps the interview's messages current (they decide "Start" or "Resume"). */
function remember(message) {
  const messages = live.interview?.messages;
  if (message && messages && !messages.some((m) => m.id === message.id)) messages.push(message);
}

function onReady({ interview, state, voice }) {
  live.connected = true;
  setVoiceMode(voice);
  live.backoff = BACKOFF_FIRST_MS;
  setConnection('');
  if (interview) {
    live.interview = interview;
    renderHeader();
    renderHistory(interview.messages ?? []);
  }
  setState(state ?? 'idle');
  sendMode();
  // A reconnect (or a tab that took over) picks up where the person was.
  if (live.started) sendJson({ type: 'start' });
}

function setState(state) {
  if (!STATE_TEXT[state]) return;
  if (state !== live.state) live.speechHeard = false;
  live.state = state;
  if (state === 'listening' && live.bargedIn) flushQueue();
  const interview = live.interview;
  if (state !== 'idle' && interview && (interview.status === 'pending' || !interview.started_at)) {
    interview.status = 'in_progress';
    interview.started_at ??= new Date().toISOString();
    renderHeader();
  }
  refresh();
}

function onEnded(reason) {
  live.over = true;
  live.started = false;
  live.state = 'idle';
  if (live.interview) live.interview.status = 'completed';
  stopMic();
  renderHeader();
  const ended = ENDED_TEXT[reason] ?? 'The interview has ended.';
  showOver(live.report?.summary ? `${ended} ${live.report.summary}` : ended, reason ?? 'ended');
}

function onServerError(code, message) {
  switch (code) {
    case 'taken_over':
      live.takenOver = true;
      showTakenOver();
      return;
    case 'session_restarted':
      setConnection('The session had a problem and was restored. Carry on.');
      return;
    // Moving to another server: the close that follows reconnects.
    case 'held_elsewhere':
    case 'draining':
      return;
    case 'invite_revoked':
    case 'invite_expired':
      inviteEnded(code, INVITE_ENDED_TEXT[code]);
      return;
    case 'not_your_turn':
    case 'database_unavailable':
      if (live.lastText && !ui.textInput.value) ui.textInput.value = live.lastText;
      break;
    default:
      break;
  }
  showError(ERROR_TEXT[code] ?? humanize(message || 'Something went wrong.'));
}

function showTakenOver() {
  live.started = false;
  // The server closes this socket next; nothing more is sent on it.
  live.connected = false;
  cancelSpeech();
  stopMic();
  setConnection('This interview is now open in another tab or window, so this tab stopped.');
  ui.reconnect.hidden = false;
  refresh();
}

/** The invite this connection was opened with ended: stop, and never reconnect. */
function inviteEnded(code, text) {
  if (live.over) return;
  live.over = true;
  live.started = false;
  live.state = 'idle';
  clearTimeout(live.reconnectTimer);
  cancelSpeech();
  stopMic();
  setConnection(text);
  ui.reconnect.hidden = true;
  refresh();
  config.onInviteEnded({ code, text });
}

/** The interview is over: `reason` is the `ended` event's (null when it was over on arrival). */
function showOver(text, reason = null) {
  live.over = true;
  clearTimeout(live.reconnectTimer);
  setConnection(text);
  if (config.overLink) {
    const back = document.createElement('a');
    back.href = config.overLink.href;
    back.textContent = config.overLink.text;
    ui.connection.append(' ', back);
  }
  ui.reconnect.hidden = true;
  refresh();
  config.onOver({ reason, text, report: live.report ?? null });
}

function stopEverything() {
  clearTimeout(live.reconnectTimer);
  cancelSpeech();
  stopMic();
  live.ws?.close(1000);
}

// ---------------------------------------------------------------------------------------------
// Rendering

function setConnection(text) {
  ui.connection.textContent = text;
}

function showError(text) {
  ui.error.textContent = text;
}

function clearError() {
  ui.error.textContent = live.micProblem;
}

function typeName(slug) {
  return live.types.find((type) => type.slug === slug)?.name ?? capitalize(String(slug ?? '').replace(/-/g, ' '));
}

function renderHeader() {
  const interview = live.interview;
  if (!interview) return;
  const title = config.title(interview, typeName(interview.interview_type));
  ui.title.textContent = title;
  document.title = `${title} — viva`;
  const questions = interview.question_count === 1 ? '1 question' : `${interview.question_count} questions`;
  const facts = [
    capitalize(interview.difficulty),
    questions,
    `${interview.time_limit_minutes}-minute limit`,
    STATUS_LABELS[interview.status] ?? interview.status,
  ];
  if (interview.started_at && !live.over) {
    const end = new Date(interview.started_at).getTime() + interview.time_limit_minutes * 60000;
    const left = Math.ceil((end - Date.now()) / 60000);
    if (Number.isFinite(left)) facts.push(left > 0 ? `about ${left} min left` : 'time is up');
  } else {
    facts.push(config.note(interview));
  }
  ui.meta.textContent = facts.filter(Boolean).join(' · ');
}

function messageElement(id, role) {
  const existing = id ? ui.transcript.querySelector(`[data-message-id="${CSS.escape(id)}"]`) : null;
  if (existing) return existing;
  const item = document.createElement('li');
  item.className = `message message--${role}`;
  item.dataset.role = role;
  if (id) item.dataset.messageId = id;
  const who = document.createElement('p');
  who.className = 'message__who';
  const text = document.createElement('p');
  text.className = 'message__text';
  item.append(who, text);
  setWho(item, role);
  const nearBottom = ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 80;
  ui.transcript.append(item);
  ui.transcriptEmpty.hidden = true;
  if (nearBottom) ui.transcript.scrollTop = ui.transcript.scrollHeight;
  return item;
}

function setWho(item, role, message) {
  const who = item.querySelector('.message__who');
  who.replaceChildren(role === 'candidate' ? 'You' : 'Interviewer');
  const count = live.interview?.question_count;
  if (role === 'interviewer' && message?.kind === 'question' && message.question_position) {
    const tag = document.createElement('span');
    tag.className = 'message__tag';
    tag.textContent = count ? `Question ${message.question_position} of ${count}` : `Question ${message.question_position}`;
    who.append(' ', tag);
  }
  if (message?.interrupted) {
    const tag = document.createElement('span');
    tag.className = 'message__tag message__tag--interrupted';
    tag.textContent = 'interrupted';
    who.append(' ', tag);
  }
}

function renderMessage(message) {
  if (!message) return;
  const role = message.role === 'candidate' ? 'candidate' : 'interviewer';
  const item = messageElement(message.id, role);
  item.classList.remove('message--streaming');
  item.classList.toggle('message--interrupted', Boolean(message.interrupted));
  if (message.interrupted) item.dataset.interrupted = 'true';
  else delete item.dataset.interrupted;
  if (message.seq !== undefined) item.dataset.seq = String(message.seq);
  if (message.kind) item.dataset.kind = message.kind;
  setWho(item, role, message);
  const text = item.querySelector('.message__text');
  const empty = !message.text?.trim();
  text.classList.toggle('message__text--empty', empty && role === 'candidate');
  text.textContent = empty && role === 'candidate' ? '(nothing was heard)' : message.text ?? '';
  updateProgress(message);
  if (ui.transcript.lastElementChild === item) ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function appendDelta(messageId, text) {
  const item = messageElement(messageId, 'interviewer');
  item.classList.add('message--streaming');
  const target = item.querySelector('.message__text');
  target.textContent += text;
  if (ui.transcript.lastElementChild === item) ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function rememberFeedback(feedback) {
  const list = live.interview?.feedback;
  if (feedback && list && !list.some((f) => f.id === feedback.id)) list.push(feedback);
}

/** Shows an answer's feedback under it: score, strength, improvement, rubric points, delivery. */
function renderFeedback(feedback) {
  if (!config.showScores || !feedback?.message_id) return;
  const item = ui.transcript.querySelector(`[data-message-id="${CSS.escape(feedback.message_id)}"]`);
  if (!item) return;
  item.querySelector('.feedback')?.remove();
  const box = document.createElement('details');
  box.className = 'feedback';
  box.dataset.score = String(feedback.score);
  const summary = document.createElement('summary');
  summary.textContent = `Feedback: ${feedback.score} / 5`;
  const line = (label, text) => {
    const p = document.createElement('p');
    const strong = document.createElement('strong');
    strong.textContent = `${label}: `;
    p.append(strong, text);
    return p;
  };
  box.append(summary, line('Strength', feedback.strength), line('To improve', feedback.improvement));
  if (feedback.rubric?.length) {
    const points = document.createElement('ul');
    points.className = 'feedback__rubric';
    for (const point of feedback.rubric) {
      const li = document.createElement('li');
      li.className = point.covered ? 'feedback__point feedback__point--covered' : 'feedback__point';
      li.textContent = `${point.covered ? '✓' : '○'} ${point.point}`;
      points.append(li);
    }
    box.append(points);
  }
  const d = feedback.delivery ?? {};
  const facts = [];
  if (d.words_per_minute != null) facts.push(`${Math.round(d.words_per_minute)} words/min`);
  if (d.filler_count != null) facts.push(`${d.filler_count} filler word${d.filler_count === 1 ? '' : 's'}`);
  if (d.longest_pause_ms != null) facts.push(`longest pause ${(d.longest_pause_ms / 1000).toFixed(1)} s`);
  if (facts.length) box.append(line('Delivery', facts.join(' · ')));
  if (feedback.source === 'fallback') {
    const note = document.createElement('p');
    note.className = 'feedback__note';
    note.textContent = 'Scored by a simpler method (a model was not available for this answer).';
    box.append(note);
  }
  item.append(box);
}

function renderHistory(messages) {
  ui.transcript.replaceChildren();
  ui.progress.textContent = '';
  const ordered = [...messages].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  for (const message of ordered) renderMessage(message);
  for (const feedback of live.interview?.feedback ?? []) renderFeedback(feedback);
  ui.transcriptEmpty.hidden = ordered.length > 0;
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function updateProgress(message) {
  const position = message.question_position;
  const count = live.interview?.question_count;
  if (position && count) ui.progress.textContent = `Question ${position} of ${count}`;
}

/** Brings every control in line with the connection, the server's state and the voice. */
export function refresh() {
  const open = socketOpen();
  const state = live.over ? 'idle' : live.state;
  const voice = voiceSpeaking();

  // The state: the server's own, plus the voice still playing after the reply was sent.
  let text = STATE_TEXT[state];
  if (live.over) text = 'Finished';
  else if (!open) text = live.takenOver ? 'Stopped' : 'Not connected';
  else if (state === 'idle') text = live.started ? 'Starting…' : live.interview?.messages?.length ? 'Paused' : 'Not started';
  else if (voice && state === 'listening') text = STATE_TEXT.speaking;
  else if (state === 'listening' && live.speechHeard) text = 'Your turn: hearing you…';
  else if (state === 'listening' && live.mode === 'push-to-talk') text = live.holding ? 'Your turn: recording…' : 'Your turn: hold to talk';
  ui.state.textContent = text;
  ui.state.dataset.state = state;
  ui.state.className = `state state--${state}${voice ? ' state--voice' : ''}${open ? '' : ' state--offline'}`;

  // The microphone line.
  let mic = 'off';
  if (live.mic) {
    if (!open) mic = 'on, not connected';
    else if (voice) mic = live.mode === 'hands-free' ? 'paused while the interviewer speaks (talk to interrupt)' : 'paused while the interviewer speaks';
    else if (state !== 'listening') mic = 'on, waiting for your turn';
    else if (live.mode === 'push-to-talk') mic = live.holding ? 'sending' : 'on, hold to talk';
    else mic = 'sending';
  } else if (live.micProblem) {
    mic = 'unavailable';
  }
  if (mic !== live.micLabel) {
    live.micLabel = mic;
    ui.micStatus.textContent = mic;
    ui.micStatus.classList.toggle('level__status--live', mic === 'sending');
  }

  // Buttons.
  const resumable = (live.interview?.messages?.length ?? 0) > 0 || live.interview?.status === 'in_progress';
  ui.start.hidden = live.over || live.takenOver || (live.started && !!live.mic);
  // Unconnected and unstarted (an invite's page connects on Start), Start opens the connection.
  const mayConnect = !live.started && !live.ws && !live.reconnectTimer;
  ui.start.disabled = (!open && !mayConnect) || live.takenOver || !config.canStart();
  ui.start.textContent = live.started ? 'Turn on the microphone' : resumable ? 'Resume interview' : 'Start interview';
  ui.finish.disabled = !open || live.finishing;
  ui.finish.hidden = live.over;
  const ptt = live.mode === 'push-to-talk';
  ui.talk.hidden = !ptt || live.over;
  ui.talk.disabled = !open || !live.mic;
  ui.talk.setAttribute('aria-pressed', String(live.holding));
  ui.talk.classList.toggle('is-held', live.holding);
  ui.talk.textContent = live.holding ? 'Recording… release to finish' : 'Hold to talk';
  ui.mode.disabled = live.over;
  ui.textInput.disabled = !open;
  ui.textSend.disabled = !open || state !== 'listening';
}

// ---------------------------------------------------------------------------------------------
// Controls

async function onStart() {
  clearError();
  ui.start.disabled = true;
  const first = !live.started;
  live.started = true;
  pickVoice();
  unlockPlayer();
  if (first) config.onBegin();
  if (!first || config.useMic()) await ensureMic();
  if (first) {
    // Not connected yet: `ready` sends `start`, as after a reconnect. Before the page has shown
    // its interview there is nothing to connect to yet: show() leads to connect().
    if (socketOpen()) sendJson({ type: 'start' });
    else if (!live.ws && !live.over && live.interviewId) connect();
  }
  refresh();
}

function onFinish() {
  if (!sendJson({ type: 'finish' })) return;
  live.finishing = true;
  cancelSpeech();
  endHold({ send: false });
  refresh();
}

function onText(event) {
  event.preventDefault();
  const text = ui.textInput.value.trim();
  if (!text) {
    ui.textInput.focus();
    return;
  }
  if (text.length > MAX_TEXT) {
    showError(`An answer can be at most ${MAX_TEXT} characters (this one has ${text.length}).`);
    return;
  }
  if (!socketOpen()) {
    showError('Not connected: your answer was not sent. Wait for the connection to come back.');
    return;
  }
  clearError();
  // The candidate answers: the voice has said enough.
  const serverSpeaking = localSpeaking();
  cancelSpeech();
  hushServer(serverSpeaking);
  sendJson({ type: 'text', text });
  live.lastText = text;
  ui.textInput.value = '';
}

function wire() {
  ui.start.addEventListener('click', onStart);
  ui.finish.addEventListener('click', onFinish);
  ui.reconnect.addEventListener('click', () => {
    live.backoff = BACKOFF_FIRST_MS;
    connect();
  });
  ui.mode.addEventListener('change', () => setMode(ui.mode.checked ? 'push-to-talk' : 'hands-free'));
  ui.mute.addEventListener('click', () => setMuted(!live.muted));
  ui.textForm.addEventListener('submit', onText);

  ui.talk.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    ui.talk.setPointerCapture?.(event.pointerId);
    startHold();
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    ui.talk.addEventListener(type, () => endHold());
  }
  ui.talk.addEventListener('contextmenu', (event) => event.preventDefault());
  document.addEventListener('keydown', onKeyDown);
  document.addEventListener('keyup', onKeyUp);
  window.addEventListener('blur', () => endHold());
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) endHold();
  });
  window.addEventListener('online', () => {
    if (live.reconnectTimer) {
      live.backoff = BACKOFF_FIRST_MS;
      connect();
    }
  });
  // Browsers go on speaking after the page is left.
  window.addEventListener('pagehide', () => {
    stopPlayer();
    try {
      speech.synth?.cancel();
    } catch {
      // nothing to stop
    }
  });
  speech.synth?.addEventListener?.('voiceschanged', pickVoice);
  setInterval(renderHeader, 30000);
}

/** The elements the core drives, by their ids in interview.html (candidate.html has them too). */
const ELEMENT_IDS = {
  title: 'interview-title',
  meta: 'interview-meta',
  state: 'state',
  progress: 'progress',
  connection: 'connection',
  reconnect: 'reconnect-button',
  meter: 'level-meter',
  micStatus: 'mic-status',
  error: 'live-error',
  start: 'start-button',
  finish: 'finish-button',
  mode: 'mode-toggle',
  modeHint: 'mode-hint',
  mute: 'mute-button',
  voiceNote: 'voice-note',
  caption: 'voice-caption',
  talk: 'talk-button',
  transcript: 'transcript',
  transcriptEmpty: 'transcript-empty',
  textForm: 'text-form',
  textInput: 'text-input',
  textSend: 'text-send',
};

/** Takes over the page's interview elements; `options` replace the fields of `config` above. */
export function init(options = {}) {
  ui = Object.fromEntries(Object.entries(ELEMENT_IDS).map(([name, id]) => [name, document.getElementById(id)]));
  for (const [name, value] of Object.entries(options)) {
    if (name in config) config[name] = value;
  }
  wire();
  Object.defineProperty(window, 'vivaVoice', { value: voiceView, configurable: true });
  setMode(stored('viva.mode') === 'push-to-talk' ? 'push-to-talk' : 'hands-free', { save: false });
  setMuted(stored('viva.muted') === '1', { save: false });
  pickVoice();
}

/**
 * Shows the interview the page loaded: its header and conversation so far. One that is over
 * stays over; otherwise the page calls connect() (or lets Start connect). `types`: the catalog's
 * interview types, for names.
 */
export function show(interview, { types = [] } = {}) {
  live.interviewId = interview.id;
  live.types = types;
  live.interview = interview;
  renderHeader();
  renderHistory(interview.messages ?? []);
  if (isClosedStatus(interview.status)) {
    showOver(closedText(interview.status));
    return;
  }
  // Start was pressed while the interview was loading: connect now (`ready` sends `start`).
  if (live.started) connect();
  refresh();
}
