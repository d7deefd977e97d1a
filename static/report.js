// The report page (/report.html?id=ID): an interview's scores, charts (chart.js), planned
// questions with a "save to practise" toggle, and its transcript with the feedback on each
// answer. Loads GET /interviews/{id} and GET /interviews/{id}/report; the bookmarks and the
// catalog's names are extras: without them the page still shows the report.
//
// When it is done, <body data-ready="report"> (or "error", once a problem is shown).

import { API, api, busy, capitalize, formatDate, humanize, STATUS_LABELS } from './api.js';
import { answersChart, deliveryChart, formatNumber, percentBand, scoreBand, skillsChart } from './chart.js';

const $ = (id) => document.getElementById(id);

const ui = {
  main: $('main'),
  loading: $('report-loading'),
  problem: $('report-problem'),
  problemTitle: $('report-problem-title'),
  problemText: $('report-problem-text'),
  problemLink: $('report-problem-link'),
  view: $('report-view'),
  title: $('report-title'),
  meta: $('report-meta'),
  note: $('report-note'),
  score: $('report-score'),
  pdf: $('report-pdf'),
  summary: $('report-summary'),
  strengths: $('report-strengths'),
  strengthsEmpty: $('report-strengths-empty'),
  improvements: $('report-improvements'),
  improvementsEmpty: $('report-improvements-empty'),
  answersChart: $('report-answers-chart'),
  deliveryIntro: $('report-delivery-intro'),
  deliveryChart: $('report-delivery-chart'),
  skillsChart: $('report-skills-chart'),
  questions: $('report-questions'),
  bookmarksError: $('report-bookmarks-error'),
  transcript: $('report-transcript'),
  transcriptEmpty: $('report-transcript-empty'),
};

const interviewId = new URLSearchParams(window.location.search).get('id');

const KIND_TAGS = { follow_up: 'follow-up', reask: 'asked again', clarify: 'clarification', closing: 'closing' };

const page = {
  interview: null,
  report: null,
  types: [],
  skills: [],
  /** Question ids saved to practise; null when the bookmarks could not be loaded. */
  saved: null,
};

// ---- Names ----

function typeName(slug) {
  return page.types.find((type) => type.slug === slug)?.name ?? capitalize(String(slug ?? '').replace(/[-_]/g, ' '));
}

function skillName(slug) {
  return page.skills.find((skill) => skill.slug === slug)?.name ?? capitalize(String(slug ?? '').replace(/[-_]/g, ' '));
}

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

const seconds = (ms) => `${formatNumber(ms / 1000)} s`;

const messageAnchor = (id) => `message-${id}`;

/** "Q2", then "Q2b", "Q2c" for more answers on the same question, in the order given. */
function answerLabels(answers) {
  const seen = new Map();
  return answers.map((answer) => {
    const count = seen.get(answer.question_position) ?? 0;
    seen.set(answer.question_position, count + 1);
    const letter = count === 0 ? '' : count < 26 ? String.fromCharCode(97 + count) : `.${count + 1}`;
    return `Q${answer.question_position}${letter}`;
  });
}

// ---- The head: title, facts, overall score, summary, strengths and improvements ----

function renderHead() {
  const { interview, report } = page;
  const name = typeName(interview.interview_type);
  ui.title.textContent = `${name} interview`;
  document.title = `${name} interview report — viva`;

  const status = document.createElement('span');
  status.className = `badge badge--${interview.status}`;
  status.textContent = STATUS_LABELS[interview.status] ?? interview.status;
  const whenIso = interview.completed_at ?? interview.started_at ?? interview.created_at;
  const when = document.createElement('time');
  when.dateTime = whenIso ?? '';
  when.textContent = formatDate(whenIso);
  const planned = report.questions_planned ?? interview.question_count;
  const facts = [
    capitalize(interview.difficulty),
    `${report.questions_answered ?? 0} of ${plural(planned, 'question')} answered`,
    `${interview.time_limit_minutes}-minute limit`,
  ];
  ui.meta.replaceChildren(status, ' ', when, ` · ${facts.join(' · ')}`);

  if (interview.status === 'pending' || interview.status === 'in_progress') {
    ui.note.textContent = 'This interview is not finished: the report covers the answers so far.';
    ui.note.hidden = false;
  }

  const overall = typeof report.overall === 'number' ? report.overall : interview.score;
  if (typeof overall === 'number') {
    const value = document.createElement('span');
    value.className = 'report__score-value';
    value.textContent = String(Math.round(overall));
    const scale = document.createElement('span');
    scale.className = 'report__score-scale';
    scale.textContent = '/100';
    ui.score.replaceChildren(value, scale);
    ui.score.dataset.score = String(Math.round(overall));
    ui.score.dataset.band = percentBand(overall);
    ui.score.setAttribute('aria-label', `Overall score: ${Math.round(overall)} out of 100`);
  } else {
    ui.score.textContent = 'not scored yet';
    ui.score.classList.add('report__score--none');
    ui.score.setAttribute('aria-label', 'Overall score: not scored yet');
  }

  ui.pdf.href = `${API}/interviews/${encodeURIComponent(interview.id)}/report.pdf`;
  ui.summary.textContent = report.summary || interview.summary || '';
  fillList(ui.strengths, ui.strengthsEmpty, report.strengths ?? []);
  fillList(ui.improvements, ui.improvementsEmpty, report.improvements ?? []);
}

function fillList(list, empty, texts) {
  list.replaceChildren(
    ...texts.map((text) => {
      const item = document.createElement('li');
      item.textContent = text;
      return item;
    }),
  );
  empty.hidden = texts.length > 0;
}

// ---- Charts ----

function renderCharts() {
  const { report } = page;
  const answers = report.answers ?? [];
  const labels = answerLabels(answers);
  const messages = new Set((page.interview.messages ?? []).map((message) => message.id));
  ui.answersChart.replaceChildren(
    answersChart(
      answers.map((answer, index) => ({
        label: labels[index],
        score: answer.score,
        href: messages.has(answer.message_id) ? `#${messageAnchor(answer.message_id)}` : undefined,
        title: answerTitle(labels[index], answer),
      })),
    ),
  );

  const delivery = report.delivery ?? {};
  const spoken = delivery.spoken_answers ?? 0;
  ui.deliveryIntro.textContent =
    spoken === 0
      ? 'No answer was spoken (typed answers have no timings), so there is nothing to measure yet.'
      : `Over ${plural(spoken, 'spoken answer')}; the shaded band is the recommended range.`;
  ui.deliveryChart.replaceChildren(deliveryChart(delivery.checks ?? []));

  ui.skillsChart.replaceChildren(
    skillsChart((report.skills ?? []).map((skill) => ({ ...skill, name: skillName(skill.skill) }))),
  );
}

/** A bar's tooltip: "Q2b: 4 out of 5 · 142 words/min · 2 filler words · 48 s". */
function answerTitle(label, answer) {
  const facts = [`${label}: ${answer.score} out of 5`];
  if (typeof answer.words_per_minute === 'number') facts.push(`${formatNumber(answer.words_per_minute)} words/min`);
  if (typeof answer.filler_count === 'number' && typeof answer.duration_ms === 'number') {
    facts.push(plural(answer.filler_count, 'filler word'));
  }
  if (typeof answer.duration_ms === 'number') facts.push(seconds(answer.duration_ms));
  return facts.join(' · ');
}

// ---- Planned questions, with the bookmark toggle ----

function renderQuestions() {
  const results = new Map((page.report.questions ?? []).map((result) => [result.position, result]));
  const planned = page.interview.questions?.length
    ? page.interview.questions
    : (page.report.questions ?? []).map(({ position, text }) => ({ position, text }));
  ui.questions.replaceChildren(
    ...[...planned]
      .sort((a, b) => a.position - b.position)
      .map((question) => questionItem(question, results.get(question.position))),
  );
  if (page.saved === null) {
    ui.bookmarksError.textContent ||= 'Could not load your saved questions, so they cannot be changed here right now. Reload the page to try again.';
  }
}

function questionItem(question, result) {
  const item = document.createElement('li');
  item.className = 'report-question';
  item.dataset.position = String(question.position);
  if (question.question_id) item.dataset.questionId = question.question_id;

  const number = document.createElement('span');
  number.className = 'report-question__number';
  number.textContent = `Q${question.position}`;

  const body = document.createElement('div');
  body.className = 'report-question__body';
  const text = document.createElement('p');
  text.className = 'report-question__text';
  text.textContent = question.text;
  const score = document.createElement('p');
  score.className = 'report-question__score';
  if (typeof result?.score === 'number') {
    const rounded = Math.round(result.score * 10) / 10;
    score.textContent = `${formatNumber(rounded)}/5${result.answers > 1 ? ` (mean of ${result.answers} answers)` : ''}`;
    score.dataset.band = scoreBand(result.score);
  } else {
    score.textContent = 'Not answered';
    score.dataset.band = 'none';
  }
  body.append(text, score);
  item.append(number, body);

  if (question.question_id) {
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'button button--small button--secondary bookmark-toggle';
    toggle.dataset.questionId = question.question_id;
    toggle.dataset.action = 'bookmark';
    setSaved(toggle, page.saved?.has(question.question_id) ?? false);
    toggle.disabled = page.saved === null;
    toggle.setAttribute('aria-describedby', `report-question-text-${question.position}`);
    text.id = `report-question-text-${question.position}`;
    item.append(toggle);
  }
  return item;
}

function setSaved(button, saved) {
  button.textContent = saved ? 'Saved' : 'Save to practise';
  button.setAttribute('aria-pressed', String(saved));
  button.classList.toggle('bookmark-toggle--saved', saved);
  button.title = saved ? 'Saved to practise: press to remove it from your saved questions' : 'Save this question to practise it later';
}

async function onQuestionsClick(event) {
  const button = event.target.closest('button[data-action="bookmark"]');
  if (!button || button.disabled || page.saved === null) return;
  const id = button.dataset.questionId;
  const wasSaved = page.saved.has(id);
  ui.bookmarksError.textContent = '';
  let saved = wasSaved;
  await busy(button, wasSaved ? 'Removing…' : 'Saving…', async () => {
    try {
      if (wasSaved) await api(`/bookmarks/${encodeURIComponent(id)}`, { method: 'DELETE' });
      else await api('/bookmarks', { method: 'POST', body: { question_id: id } });
      saved = !wasSaved;
    } catch (error) {
      // 404 on removal: it was not saved any more (removed in another tab).
      if (wasSaved && error.status === 404) {
        saved = false;
      } else if (error.status === 401) {
        ui.bookmarksError.textContent = 'Your session has ended: log in again (from the home page) to save questions.';
      } else {
        ui.bookmarksError.textContent = `Could not ${wasSaved ? 'remove' : 'save'} the question. ${humanize(error.message)}`;
      }
    }
  });
  if (saved) page.saved.add(id);
  else page.saved.delete(id);
  setSaved(button, saved);
}

// ---- The transcript, with each answer's feedback under it ----

function renderTranscript() {
  const interview = page.interview;
  const ordered = [...(interview.messages ?? [])].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const feedbackFor = new Map((interview.feedback ?? []).map((feedback) => [feedback.message_id, feedback]));
  ui.transcript.replaceChildren(
    ...ordered.map((message) => {
      const item = messageItem(message);
      const feedback = feedbackFor.get(message.id);
      if (feedback && message.role === 'candidate') item.append(feedbackBox(feedback));
      return item;
    }),
  );
  ui.transcriptEmpty.hidden = ordered.length > 0;
}

function messageItem(message) {
  const role = message.role === 'candidate' ? 'candidate' : 'interviewer';
  const item = document.createElement('li');
  item.className = `message message--${role}`;
  item.id = messageAnchor(message.id);
  item.dataset.messageId = message.id;
  item.dataset.role = role;
  if (message.seq !== undefined) item.dataset.seq = String(message.seq);
  if (message.kind) item.dataset.kind = message.kind;
  if (message.question_position) item.dataset.questionPosition = String(message.question_position);
  if (message.interrupted) {
    item.classList.add('message--interrupted');
    item.dataset.interrupted = 'true';
  }

  const who = document.createElement('p');
  who.className = 'message__who';
  who.append(role === 'candidate' ? 'You' : 'Interviewer');
  const count = page.interview.question_count;
  if (role === 'interviewer' && message.kind === 'question' && message.question_position) {
    who.append(' ', tag(count ? `Question ${message.question_position} of ${count}` : `Question ${message.question_position}`));
  } else if (role === 'interviewer' && KIND_TAGS[message.kind]) {
    who.append(' ', tag(KIND_TAGS[message.kind]));
  }
  if (message.interrupted) who.append(' ', tag('interrupted', 'message__tag--interrupted'));

  const text = document.createElement('p');
  text.className = 'message__text';
  const empty = !message.text?.trim();
  text.classList.toggle('message__text--empty', empty && role === 'candidate');
  text.textContent = empty && role === 'candidate' ? '(nothing was heard)' : message.text ?? '';
  item.append(who, text);
  return item;
}

function tag(text, modifier = '') {
  const span = document.createElement('span');
  span.className = `message__tag ${modifier}`.trim();
  span.textContent = text;
  return span;
}

/** As the live page shows it: score, strength, improvement, rubric points, delivery. */
function feedbackBox(feedback) {
  const box = document.createElement('details');
  box.className = 'feedback';
  box.open = true;
  box.dataset.score = String(feedback.score);
  box.dataset.source = feedback.source ?? 'model';
  const summary = document.createElement('summary');
  summary.textContent = `Feedback: ${feedback.score}/5`;
  box.append(summary);
  if (feedback.strength) box.append(line('Strength', feedback.strength));
  if (feedback.improvement) box.append(line('To improve', feedback.improvement));

  if (feedback.rubric?.length) {
    const points = document.createElement('ul');
    points.className = 'feedback__rubric';
    for (const point of feedback.rubric) {
      const item = document.createElement('li');
      item.className = point.covered ? 'feedback__point feedback__point--covered' : 'feedback__point feedback__point--missed';
      item.dataset.covered = String(Boolean(point.covered));
      const mark = document.createElement('span');
      mark.className = 'feedback__mark';
      mark.setAttribute('aria-hidden', 'true');
      mark.textContent = point.covered ? '✓' : '✗';
      const said = document.createElement('span');
      said.className = 'visually-hidden';
      said.textContent = point.covered ? 'Covered: ' : 'Not covered: ';
      item.append(mark, ' ', said, point.point);
      points.append(item);
    }
    box.append(points);
  }

  const facts = deliveryFacts(feedback.delivery ?? {});
  if (facts.length) box.append(line('Delivery', facts.join(' · ')));

  if (feedback.source === 'fallback') {
    const note = document.createElement('p');
    note.className = 'feedback__note';
    note.textContent = 'Scored by a simpler method';
    if (feedback.fallback_reason) {
      note.title = `Why: ${feedback.fallback_reason}`;
      note.classList.add('feedback__note--reason');
    }
    box.append(note);
  }
  return box;
}

function line(label, text) {
  const p = document.createElement('p');
  const strong = document.createElement('strong');
  strong.textContent = `${label}: `;
  p.append(strong, text);
  return p;
}

function deliveryFacts(d) {
  const facts = [];
  const spoken = typeof d.duration_ms === 'number';
  if (typeof d.words === 'number') facts.push(plural(d.words, 'word'));
  if (spoken) facts.push(seconds(d.duration_ms));
  if (typeof d.words_per_minute === 'number') facts.push(`${formatNumber(d.words_per_minute)} words/min`);
  if (typeof d.filler_count === 'number') {
    const phrases = (d.fillers ?? []).map((filler) => (filler.count > 1 ? `“${filler.phrase}” ×${filler.count}` : `“${filler.phrase}”`));
    facts.push(`${plural(d.filler_count, 'filler word')}${phrases.length ? ` (${phrases.join(', ')})` : ''}`);
  }
  if (typeof d.longest_pause_ms === 'number') facts.push(`longest pause ${seconds(d.longest_pause_ms)}`);
  if (typeof d.time_to_first_word_ms === 'number') facts.push(`first word after ${seconds(d.time_to_first_word_ms)}`);
  if (!spoken && facts.length) facts.push('typed');
  return facts;
}

// ---- The page ----

function showProblem(title, text, linkText = 'Go to my interviews') {
  ui.loading.hidden = true;
  ui.view.hidden = true;
  ui.problemTitle.textContent = title;
  ui.problemText.textContent = text;
  ui.problemLink.textContent = linkText;
  ui.problem.hidden = false;
  ui.main.removeAttribute('aria-busy');
  ui.problemTitle.focus();
  document.body.dataset.ready = 'error';
}

async function main() {
  ui.questions.addEventListener('click', onQuestionsClick);
  if (!interviewId) {
    showProblem('No interview chosen', 'Open a report from your list of interviews.');
    return;
  }
  const id = encodeURIComponent(interviewId);
  // Extras: the page works without them.
  const types = api('/interview-types').catch(() => []);
  const skills = api('/skills').catch(() => []);
  const bookmarks = api('/bookmarks').then(
    (list) => new Set(list.map((bookmark) => bookmark.question_id)),
    (error) => {
      if (error.status !== 401) {
        ui.bookmarksError.textContent = `Could not load your saved questions. ${humanize(error.message)}`;
      }
      return null;
    },
  );
  try {
    [page.interview, page.report] = await Promise.all([api(`/interviews/${id}`), api(`/interviews/${id}/report`)]);
  } catch (error) {
    if (error.status === 401) {
      showProblem('Please log in', 'Log in to see this report, then open it from your list of interviews.', 'Log in');
    } else if (error.status === 404) {
      showProblem('Report not found', 'There is no such interview, or it belongs to someone else.');
    } else {
      showProblem('Could not load the report', humanize(error.message));
    }
    return;
  }
  [page.types, page.skills, page.saved] = await Promise.all([types, skills, bookmarks]);
  try {
    renderHead();
    renderCharts();
    renderQuestions();
    renderTranscript();
  } catch (error) {
    // An answer this page does not understand: say so rather than show half a report.
    console.error(error);
    showProblem('Could not show the report', 'The report arrived in a form this page does not understand. Reload the page; if it keeps happening, the server may have been upgraded: clear the browser’s cache.');
    return;
  }
  ui.loading.hidden = true;
  ui.view.hidden = false;
  ui.main.removeAttribute('aria-busy');
  document.body.dataset.ready = 'report';
  // A link to one answer (#message-…): go there once it exists.
  if (window.location.hash) document.getElementById(window.location.hash.slice(1))?.scrollIntoView();
}

main();
