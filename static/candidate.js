// The candidate's invite page (/i/TOKEN, served from candidate.html): no account and no cookie,
// the token in the address authorizes everything (the `X-Interview-Token` header on the API,
// `?token=` on the WebSocket). The page greets the candidate, asks for consent to the recording,
// checks the microphone (or lets them type), then runs the live interview with the same core as
// the signed-in interview page (live.js).
//
// When it is usable, <body data-ready="invite">; when it shows an invite problem,
// <body data-ready="error"> with the message in #invite-error.

import { api, capitalize, formatDate, humanize, isClosedStatus } from './api.js';
import * as live from './live.js';

/**
 * "We can hear you": the microphone's RMS held over this level (-50 dBFS: quiet speech, above a
 * quiet room once the browser's noise suppression has run) this long.
 */
const HEARD_RMS = 0.00316;
const HEARD_MS = 200;
const CHUNK_MS = 20;
/** Without a sound this long after the microphone opened, a hint says what to check. */
const QUIET_HINT_MS = 8000;

const $ = (id) => document.getElementById(id);

const ui = {
  main: $('main'),
  loading: $('invite-loading'),
  problem: $('invite-problem'),
  problemTitle: $('invite-problem-title'),
  problemText: $('invite-error'),
  problemHint: $('invite-problem-hint'),
  retry: $('invite-retry'),
  intro: $('invite-intro'),
  greeting: $('invite-greeting'),
  facts: $('invite-facts'),
  consentScores: $('consent-scores'),
  consent: $('consent-checkbox'),
  meter: $('mic-check-meter'),
  micStatus: $('mic-check-status'),
  micError: $('mic-check-error'),
  micButton: $('mic-check-button'),
  typeInstead: $('type-instead-button'),
  startHint: $('start-hint'),
  start: $('start-button'),
  view: $('interview-view'),
  title: $('interview-title'),
  controls: $('interview-controls'),
  liveActions: $('live-actions'),
  textForm: $('text-form'),
  done: $('invite-done'),
  doneTitle: $('invite-done-title'),
  doneText: $('invite-done-text'),
  doneScore: $('invite-done-score'),
  doneSummary: $('invite-done-summary'),
};

/** The token: the last segment of /i/TOKEN. */
const token = /^\/i\/([^/]+)\/?$/.exec(window.location.pathname)?.[1] ?? '';

const tokenHeaders = { 'X-Interview-Token': token };

const page = {
  invite: null,
  consent: false,
  /** The microphone check: idle, checking, working, failed. */
  mic: 'idle',
  /** The check heard something: how long (ms) the level stayed up, and whether it passed. */
  loudMs: 0,
  heard: false,
  quietTimer: null,
  /** The candidate chose to type their answers. */
  typing: false,
  begun: false,
};

const PROBLEM_TITLES = {
  invite_invalid: 'This link does not work',
  unauthenticated: 'This link does not work',
  invite_expired: 'This link has expired',
  interview_over: 'This interview is over',
  invite_revoked: 'This link was withdrawn',
  invite_ended: 'This link no longer works',
  not_found: 'This link does not work',
};

/** The invite's API errors that no retry mends. */
const isInviteError = (error) => [401, 403, 404, 410].includes(error.status);

const loadInvite = () => api('/invite', { headers: tokenHeaders });

// ---- Problems ----

/**
 * Shows an invite problem: why the link does not work (or stopped working). The conversation so
 * far stays on the page when there is one; nothing live is left.
 */
function showProblem(title, message, { retry = false, hint = '' } = {}) {
  ui.loading.hidden = true;
  ui.intro.hidden = true;
  ui.problemTitle.textContent = title;
  ui.problemText.textContent = message;
  ui.problemHint.textContent = hint;
  ui.problemHint.hidden = !hint;
  ui.retry.hidden = !retry;
  ui.problem.hidden = false;
  ui.view.classList.add('interview--stopped');
  ui.controls.hidden = true;
  ui.textForm.hidden = true;
  ui.done.hidden = true;
  ui.main.removeAttribute('aria-busy');
  document.body.dataset.ready = 'error';
  ui.problemTitle.focus();
}

function showApiProblem(error) {
  if (isInviteError(error)) {
    showProblem(PROBLEM_TITLES[error.code] ?? 'This link does not work', humanize(error.message), {
      hint: 'If you think this is a mistake, reply to the email that invited you and ask for a new link.',
    });
  } else {
    const text =
      error.status === 0
        ? 'Could not reach the server. Check your internet connection, then try again.'
        : `The server could not load your interview just now (${humanize(error.message)}) Try again in a moment.`;
    showProblem('Could not load your interview', text, { retry: true });
  }
}

// ---- The introduction: greeting, consent, microphone check ----

function typeName(slug) {
  return capitalize(String(slug ?? '').replace(/[-_]/g, ' '));
}

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

function renderIntro() {
  const { invite } = page;
  const interview = invite.interview;
  ui.greeting.textContent = `Hello ${invite.candidate_name} — interview for ${invite.job_title}`;
  document.title = `Interview for ${invite.job_title} — viva`;
  const facts = [
    `${typeName(interview.interview_type)} interview`,
    plural(interview.question_count, 'question'),
    `about ${interview.time_limit_minutes} minutes`,
  ];
  if (invite.invite_expires_at) facts.push(`this link works until ${formatDate(invite.invite_expires_at)}`);
  ui.facts.textContent = facts.join(' · ');
  ui.consentScores.textContent = invite.show_scores
    ? 'You will also see your feedback on each answer, and your score at the end.'
    : 'Scores and feedback go to the recruiter only; you will not see them.';
}

/** Brings the steps in line: what the microphone check found and whether Start can be pressed. */
function renderSteps() {
  const { mic, typing, heard, consent } = page;
  ui.micButton.hidden = typing || mic === 'working' || mic === 'checking';
  ui.micButton.textContent = mic === 'failed' ? 'Try the microphone again' : 'Check my microphone';
  ui.typeInstead.textContent = typing ? 'Use my microphone instead' : 'Answer by typing instead';
  ui.typeInstead.setAttribute('aria-pressed', String(typing));
  ui.micStatus.classList.toggle('level__status--live', !typing && mic === 'working' && heard);
  if (typing) {
    ui.micStatus.textContent = 'Off: you chose to type your answers';
  } else if (mic === 'checking') {
    ui.micStatus.textContent = 'Asking for the microphone…';
  } else if (mic === 'working') {
    ui.micStatus.textContent = heard ? 'We can hear you' : 'On: say a few words…';
  } else if (mic === 'failed') {
    ui.micStatus.textContent = 'Not working';
  } else {
    ui.micStatus.textContent = consent ? 'Not checked yet' : 'Not checked yet: tick “I agree” first';
  }
  let hint;
  if (!consent) hint = 'Tick “I agree” above to continue.';
  else if (typing) hint = 'Ready: you will type your answers. The interviewer’s questions are spoken and shown.';
  else if (mic === 'working') hint = heard ? 'Ready when you are.' : 'Ready. The microphone is on; say a few words to test it, or start.';
  else if (mic === 'checking') hint = 'Checking your microphone…';
  else if (mic === 'failed') hint = 'The microphone is not working: fix it and try again, or answer by typing instead.';
  else hint = 'Check your microphone, or choose to type, to start.';
  ui.startHint.textContent = hint;
  live.refresh();
}

function onConsent() {
  page.consent = ui.consent.checked;
  // Agreeing is the moment to ask for the microphone (never before); withdrawing turns it off.
  if (page.consent && page.mic === 'idle' && !page.typing) {
    checkMic();
    return;
  }
  if (!page.consent && page.mic !== 'idle') {
    clearTimeout(page.quietTimer);
    live.releaseMic();
    page.mic = 'idle';
    page.heard = false;
    ui.meter.value = 0;
    ui.micError.textContent = '';
  }
  renderSteps();
}

async function checkMic() {
  if (page.mic === 'checking' || page.begun) return;
  page.mic = 'checking';
  page.heard = false;
  page.loudMs = 0;
  ui.micError.textContent = '';
  renderSteps();
  const ok = await live.ensureMic();
  // The candidate chose to type meanwhile (the microphone was closed again).
  if (page.typing || page.begun) return;
  page.mic = ok ? 'working' : 'failed';
  if (ok) {
    clearTimeout(page.quietTimer);
    page.quietTimer = setTimeout(onQuiet, QUIET_HINT_MS);
  } else {
    ui.micError.textContent = micProblemText(live.micFailure());
  }
  renderSteps();
}

function micProblemText(kind) {
  switch (kind) {
    case 'blocked':
      return 'Microphone access is blocked. Allow the microphone for this site (the icon in the address bar), then try again; or answer by typing instead.';
    case 'missing':
      return 'No microphone was found. Connect one, then try again; or answer by typing instead.';
    case 'busy':
      return 'The microphone could not be started: another application may be using it. Close that, then try again; or answer by typing instead.';
    case 'insecure':
      return 'The microphone only works on a secure page (https://). Answer by typing instead, or ask the recruiter for a secure link.';
    case 'unsupported':
      return 'This browser cannot record audio. Answer by typing instead, or open the link in a current Chrome, Edge, Firefox or Safari.';
    default:
      return 'The microphone could not be started. Try again, or answer by typing instead.';
  }
}

function onQuiet() {
  if (page.mic !== 'working' || page.heard || page.typing || page.begun) return;
  ui.micError.textContent =
    'We cannot hear anything yet. Speak up, check that the microphone is not muted (or pick another one in the browser’s settings), or answer by typing instead.';
}

/** Every 20 ms of microphone audio, before the interview: the check's meter and "We can hear you". */
function onLevel(rms, level) {
  if (page.begun) return;
  ui.meter.value = level;
  if (page.heard || page.mic !== 'working') return;
  page.loudMs = rms >= HEARD_RMS ? page.loudMs + CHUNK_MS : 0;
  if (page.loudMs >= HEARD_MS) {
    page.heard = true;
    clearTimeout(page.quietTimer);
    ui.micError.textContent = '';
    renderSteps();
  }
}

function onTypeInstead() {
  page.typing = !page.typing;
  clearTimeout(page.quietTimer);
  ui.micError.textContent = '';
  ui.meter.value = 0;
  if (page.typing) {
    live.releaseMic();
    page.mic = 'idle';
    page.heard = false;
    renderSteps();
  } else if (page.consent) {
    checkMic();
  } else {
    renderSteps();
  }
}

// ---- The live interview ----

/** The first Start: the introduction gives way to the interview, Start to the live controls. */
function onBegin() {
  page.begun = true;
  clearTimeout(page.quietTimer);
  ui.intro.hidden = true;
  ui.view.hidden = false;
  // The same button, now the live controls' own: to a typist it offers the microphone, quietly.
  ui.liveActions.prepend(ui.start);
  if (page.typing) ui.start.classList.replace('button--primary', 'button--secondary');
  ui.title.focus();
}

function onOver({ reason, report }) {
  ui.controls.hidden = true;
  ui.textForm.hidden = true;
  ui.done.hidden = false;
  ui.doneTitle.textContent = reason === 'time_limit' ? 'Time is up: thank you' : 'Thank you';
  ui.doneText.textContent = 'Your interview is complete. The recruiter will be in touch.';
  const overall = page.invite.show_scores ? (report?.overall ?? page.invite.interview.score) : null;
  ui.doneScore.hidden = typeof overall !== 'number';
  if (typeof overall === 'number') ui.doneScore.textContent = `Your score: ${Math.round(overall)}/100`;
  const summary = page.invite.show_scores ? (report?.summary ?? page.invite.interview.summary) : null;
  ui.doneSummary.hidden = !summary;
  ui.doneSummary.textContent = summary ?? '';
  document.body.dataset.ended = 'true';
  ui.doneTitle.focus();
}

function onInviteEnded({ code, text }) {
  showProblem(PROBLEM_TITLES[code] ?? 'This link no longer works', text, {
    hint: 'Your answers so far are saved. Reply to the email that invited you if you want to carry on.',
  });
}

async function reload() {
  const invite = await loadInvite();
  page.invite = invite;
  return invite.interview;
}

// ---- Start ----

async function start() {
  if (!token) {
    showProblem('This link does not work', 'Open this page from the link in your interview invitation.');
    return;
  }
  ui.retry.addEventListener('click', () => window.location.reload());
  let invite;
  try {
    invite = await loadInvite();
  } catch (error) {
    showApiProblem(error);
    return;
  }
  page.invite = invite;
  const interview = invite.interview;
  live.init({
    socketPath: (id) => `/api/v1/interviews/${encodeURIComponent(id)}/ws?token=${encodeURIComponent(token)}`,
    reload,
    isFatal: isInviteError,
    onFatal: showApiProblem,
    showScores: invite.show_scores === true,
    canStart: () => page.consent && (page.typing || page.mic === 'working'),
    useMic: () => !page.typing,
    onBegin,
    overLink: null,
    onOver,
    onInviteEnded,
    title: () => `Interview for ${invite.job_title}`,
    note: (current) =>
      invite.invite_expires_at && !isClosedStatus(current.status) ? `link works until ${formatDate(invite.invite_expires_at)}` : '',
    onLevel,
  });
  renderIntro();
  ui.consent.addEventListener('change', onConsent);
  ui.micButton.addEventListener('click', checkMic);
  ui.typeInstead.addEventListener('click', onTypeInstead);
  ui.loading.hidden = true;
  ui.main.removeAttribute('aria-busy');
  live.show(interview);
  if (isClosedStatus(interview.status)) {
    // Over already (the server normally says so first): the thank-you and the conversation.
    ui.view.hidden = false;
    document.body.dataset.ready = 'invite';
    return;
  }
  ui.consent.checked = false;
  renderSteps();
  ui.intro.hidden = false;
  document.body.dataset.ready = 'invite';
  ui.greeting.focus();
}

start();
