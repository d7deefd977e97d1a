// The signed-in dashboard on the landing page: my interviews (open, report, delete), the form
// that plans a new one, progress over the completed interviews (a trend chart, the weakest
// skill, a suggested next interview), saved questions, and the opt-in leaderboard. app.js calls
// show(user) once someone is signed in and hide() when they leave. Each section loads on its
// own: one that fails says so in place while the others carry on.

import { api, busy, capitalize, fieldNamed, formatDate, STATUS_LABELS } from './api.js';
import { seriesClass, trendChart } from './chart.js';
import { renderSkillChoices, skillBoxes as boxesIn } from './skills.js';

const PER_PAGE = 20;
const MAX_SKILLS = 10;
const COUNT = { min: 1, max: 20 };
const MINUTES = { min: 5, max: 180 };

const $ = (id) => document.getElementById(id);

const ui = {
  form: $('new-interview-form'),
  type: $('new-interview-type'),
  typeDescription: $('new-interview-type-description'),
  suggested: $('new-interview-skills-suggested'),
  other: $('new-interview-skills-other'),
  more: $('new-interview-skills-more'),
  difficulty: $('new-interview-difficulty'),
  count: $('new-interview-count'),
  minutes: $('new-interview-time'),
  error: $('new-interview-error'),
  submit: $('new-interview-submit'),
  listTitle: $('interviews-title'),
  list: $('interviews-list'),
  listStatus: $('interviews-status'),
  listError: $('interviews-error'),
  empty: $('interviews-empty'),
  moreButton: $('interviews-more'),
  progress: {
    status: $('progress-status'),
    error: $('progress-error'),
    empty: $('progress-empty'),
    chart: $('progress-chart'),
    trend: $('progress-trend'),
    legend: $('progress-legend'),
    weakest: $('progress-weakest'),
    suggestion: $('progress-suggestion'),
    what: $('progress-suggestion-what'),
    reason: $('progress-suggestion-reason'),
    startError: $('progress-suggestion-error'),
    start: $('progress-start'),
  },
  bookmarks: {
    title: $('bookmarks-title'),
    status: $('bookmarks-status'),
    error: $('bookmarks-error'),
    empty: $('bookmarks-empty'),
    list: $('bookmarks-list'),
  },
  leaderboard: {
    optIn: $('leaderboard-opt-in'),
    optInStatus: $('leaderboard-opt-in-status'),
    optInError: $('leaderboard-opt-in-error'),
    status: $('leaderboard-status'),
    error: $('leaderboard-error'),
    empty: $('leaderboard-empty'),
    tables: $('leaderboard-tables'),
  },
};

const FIELD_LABELS = {
  interview_type: 'Interview type',
  skills: 'Skills',
  difficulty: 'Difficulty',
  question_count: 'Questions',
  time_limit_minutes: 'Time limit',
};

let catalog = { types: [], skills: [] };
/** Bumped by hide(): answers to requests made for an earlier sign-in are dropped. */
let generation = 0;
let page = 0;
let total = 0;
let onSignedOut = () => {};
/** The progress endpoint's suggested next interview, for "Start this interview". */
let suggestion = null;

/** `onSignedOut` runs when an API call finds the session gone (401). */
export function init(options = {}) {
  onSignedOut = options.onSignedOut ?? onSignedOut;
  ui.form.addEventListener('submit', onCreate);
  ui.form.addEventListener('input', (event) => event.target.removeAttribute?.('aria-invalid'));
  ui.type.addEventListener('change', () => renderSkills());
  ui.list.addEventListener('click', onListClick);
  ui.moreButton.addEventListener('click', () => loadPage(page + 1));
  ui.progress.start.addEventListener('click', onStartSuggestion);
  ui.bookmarks.list.addEventListener('click', onBookmarksClick);
  ui.leaderboard.optIn.addEventListener('change', onOptInChange);
}

/** `user`: the signed-in account, as /auth/me answers (its `leaderboard_opt_in` sets the switch). */
export async function show(user) {
  const mine = ++generation;
  clearFormError();
  ui.listError.textContent = '';
  ui.listStatus.textContent = 'Loading your interviews…';
  const [types, skills] = await Promise.allSettled([api('/interview-types'), api('/skills')]);
  if (mine !== generation) return;
  if (types.status === 'fulfilled' && skills.status === 'fulfilled') {
    catalog = { types: types.value, skills: skills.value };
    renderTypes();
    ui.submit.disabled = false;
  } else {
    const error = types.status === 'rejected' ? types.reason : skills.reason;
    if (error.status === 401) return onSignedOut();
    ui.type.replaceChildren(new Option('Unavailable', ''));
    ui.error.textContent = `Could not load the interview types. ${sentence(error.message)}`;
    ui.submit.disabled = true;
  }
  // Each loader shows its own failure and never rejects.
  await Promise.all([loadPage(1), loadProgress(), loadBookmarks(), loadOptIn(user), loadLeaderboard()]);
}

export function hide() {
  generation += 1;
  catalog = { types: [], skills: [] };
  page = 0;
  total = 0;
  ui.form.reset();
  ui.type.replaceChildren(new Option('Loading…', ''));
  ui.typeDescription.textContent = '';
  ui.suggested.replaceChildren();
  ui.other.replaceChildren();
  ui.list.replaceChildren();
  ui.empty.hidden = true;
  ui.moreButton.hidden = true;
  ui.listStatus.textContent = '';
  ui.listError.textContent = '';
  clearFormError();
  suggestion = null;
  for (const element of [ui.progress.status, ui.progress.error, ui.progress.weakest, ui.progress.what, ui.progress.reason, ui.progress.startError]) {
    element.textContent = '';
  }
  ui.progress.trend.replaceChildren();
  ui.progress.legend.replaceChildren();
  for (const element of [ui.progress.empty, ui.progress.chart, ui.progress.weakest, ui.progress.suggestion]) element.hidden = true;
  ui.bookmarks.list.replaceChildren();
  ui.bookmarks.status.textContent = '';
  ui.bookmarks.error.textContent = '';
  ui.bookmarks.empty.hidden = true;
  ui.leaderboard.optIn.checked = false;
  ui.leaderboard.optIn.disabled = true;
  for (const element of [ui.leaderboard.optInStatus, ui.leaderboard.optInError, ui.leaderboard.status, ui.leaderboard.error]) {
    element.textContent = '';
  }
  ui.leaderboard.tables.replaceChildren();
  ui.leaderboard.empty.hidden = true;
}

// ---- The new-interview form ----

function renderTypes() {
  const previous = ui.type.value;
  ui.type.replaceChildren(...catalog.types.map((type) => new Option(type.name, type.slug)));
  if (catalog.types.some((type) => type.slug === previous)) ui.type.value = previous;
  renderSkills();
}

/** The type's suggested skills, ticked, then every other skill behind "More skills". */
function renderSkills() {
  const type = renderSkillChoices({
    catalog,
    typeSlug: ui.type.value,
    suggested: ui.suggested,
    other: ui.other,
    more: ui.more,
    idPrefix: 'new-interview-skill-',
  });
  ui.typeDescription.textContent = type?.description ?? '';
}

const skillBoxes = () => boxesIn(ui.form);

function clearFormError() {
  ui.error.textContent = '';
  for (const field of [ui.type, ui.difficulty, ui.count, ui.minutes, ...skillBoxes()]) {
    field.removeAttribute('aria-invalid');
  }
}

/** `message` names a skill ("… covers `css` …"): its box, if there is one. */
function skillNamedIn(message) {
  const match = /`([^`]+)`/.exec(message ?? '');
  return match ? skillBoxes().find((box) => box.value === match[1]) : undefined;
}

function fieldInput(name, message) {
  switch (name) {
    case 'interview_type':
      return ui.type;
    case 'difficulty':
      return ui.difficulty;
    case 'question_count':
      return ui.count;
    case 'time_limit_minutes':
      return ui.minutes;
    case 'skills': {
      const boxes = skillBoxes();
      const target = skillNamedIn(message) ?? boxes.find((box) => box.checked) ?? boxes[0];
      if (target && ui.other.contains(target)) ui.more.open = true;
      return target;
    }
    default:
      return undefined;
  }
}

/** Shows `message` ("field: reason" from the server, or our own) and marks the field. */
function showFormError(message, name = fieldNamed(message)) {
  const rest = name && message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
  ui.error.textContent = name && FIELD_LABELS[name] ? `${FIELD_LABELS[name]}: ${sentence(rest)}` : sentence(rest);
  const input = fieldInput(name, message);
  if (input) {
    if (name !== 'skills') input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

/** The form's request, or a problem with it (checked here first, the server checks again). */
function request() {
  const whole = (input) => (input.value.trim() === '' ? NaN : Number(input.value));
  const body = {
    interview_type: ui.type.value,
    skills: skillBoxes().filter((box) => box.checked).map((box) => box.value),
    difficulty: ui.difficulty.value,
    question_count: whole(ui.count),
    time_limit_minutes: whole(ui.minutes),
  };
  if (!body.interview_type) return { problem: ['interview_type', 'choose an interview type'] };
  if (body.skills.length > MAX_SKILLS) {
    return { problem: ['skills', `pick at most ${MAX_SKILLS} skills (${body.skills.length} are ticked)`] };
  }
  const count = body.question_count;
  if (!Number.isInteger(count) || count < COUNT.min || count > COUNT.max) {
    return { problem: ['question_count', `enter a whole number from ${COUNT.min} to ${COUNT.max}`] };
  }
  const minutes = body.time_limit_minutes;
  if (!Number.isInteger(minutes) || minutes < MINUTES.min || minutes > MINUTES.max) {
    return { problem: ['time_limit_minutes', `enter a whole number of minutes from ${MINUTES.min} to ${MINUTES.max}`] };
  }
  return { body };
}

async function onCreate(event) {
  event.preventDefault();
  clearFormError();
  const { body, problem } = request();
  if (problem) {
    showFormError(`${problem[0]}: ${problem[1]}`, problem[0]);
    return;
  }
  const button = event.submitter ?? ui.submit;
  await busy(button, 'Planning your interview…', async () => {
    try {
      const interview = await api('/interviews', { method: 'POST', body });
      window.location.assign(interviewUrl(interview.id));
    } catch (error) {
      if (error.status === 401) return onSignedOut();
      // 422 not_enough_questions names no field, but fewer questions is the fix.
      showFormError(error.message, error.code === 'not_enough_questions' ? 'question_count' : undefined);
    }
  });
}

// ---- My interviews ----

export const interviewUrl = (id) => `/interview.html?id=${encodeURIComponent(id)}`;

export const reportUrl = (id) => `/report.html?id=${encodeURIComponent(id)}`;

async function loadPage(number) {
  const mine = generation;
  ui.listError.textContent = '';
  ui.moreButton.disabled = true;
  try {
    const data = await api(`/interviews?page=${number}&per_page=${PER_PAGE}`);
    if (mine !== generation) return;
    page = data.page ?? number;
    total = data.total ?? data.items.length;
    if (number === 1) ui.list.replaceChildren();
    ui.list.append(...data.items.map(listItem));
    updateListFooter();
  } catch (error) {
    if (mine !== generation) return;
    if (error.status === 401) return onSignedOut();
    ui.listStatus.textContent = '';
    ui.listError.textContent = `Could not load your interviews. ${sentence(error.message)}`;
  } finally {
    ui.moreButton.disabled = false;
  }
}

function updateListFooter() {
  const shown = ui.list.children.length;
  ui.empty.hidden = shown > 0;
  ui.moreButton.hidden = shown >= total;
  ui.listStatus.textContent = total === 0 ? '' : total === 1 ? '1 interview' : `${total} interviews`;
}

function typeName(slug) {
  return catalog.types.find((type) => type.slug === slug)?.name ?? slug;
}

function listItem(interview) {
  const item = document.createElement('li');
  item.className = 'interview-item';
  item.dataset.id = interview.id;
  item.dataset.status = interview.status;

  const main = document.createElement('div');
  main.className = 'interview-item__main';
  const link = document.createElement('a');
  link.className = 'interview-item__title';
  link.href = interviewUrl(interview.id);
  link.textContent = typeName(interview.interview_type);

  const meta = document.createElement('p');
  meta.className = 'interview-item__meta';
  const badge = document.createElement('span');
  badge.className = `badge badge--${interview.status}`;
  badge.textContent = STATUS_LABELS[interview.status] ?? interview.status;
  const when = document.createElement('time');
  when.dateTime = interview.created_at;
  when.textContent = formatDate(interview.created_at);
  const questions = interview.question_count === 1 ? '1 question' : `${interview.question_count} questions`;
  const facts = [capitalize(interview.difficulty), questions];
  meta.append(badge, ` ${facts.join(' · ')} · `, when);
  if (typeof interview.score === 'number') {
    const score = document.createElement('span');
    score.className = 'interview-item__score';
    score.dataset.score = String(Math.round(interview.score));
    score.textContent = `${Math.round(interview.score)}/100`;
    meta.append(' · ', score);
  }
  main.append(link, meta);

  const actions = document.createElement('div');
  actions.className = 'interview-item__actions';
  item.dataset.label = `the ${typeName(interview.interview_type)} interview of ${formatDate(interview.created_at)}`;
  if (interview.status === 'completed') actions.append(reportLink(interview.id, item.dataset.label));
  actions.append(deleteButton(item.dataset.label));
  item.append(main, actions);
  return item;
}

function reportLink(id, label) {
  const link = document.createElement('a');
  link.className = 'button button--small button--secondary interview-item__report';
  link.href = reportUrl(id);
  link.textContent = 'Report';
  link.setAttribute('aria-label', `Report on ${label}`);
  return link;
}

/** `label`: which interview, for screen readers ("the Behavioral interview of 1 May 2025"). */
function deleteButton(label) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button button--quiet';
  button.dataset.action = 'delete';
  button.textContent = 'Delete';
  button.setAttribute('aria-label', `Delete ${label}`);
  return button;
}

/** Delete asks once more in place (no dialog): "Delete this interview?" Delete / Keep. */
async function onListClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const item = button.closest('.interview-item');
  const actions = item.querySelector('.interview-item__actions');
  const action = button.dataset.action;
  if (action === 'delete') {
    const question = document.createElement('span');
    question.className = 'interview-item__confirm';
    question.textContent = 'Delete this interview?';
    question.id = `confirm-${item.dataset.id}`;
    const yes = document.createElement('button');
    yes.type = 'button';
    yes.className = 'button button--danger';
    yes.dataset.action = 'confirm-delete';
    yes.textContent = 'Delete';
    yes.setAttribute('aria-describedby', question.id);
    const no = document.createElement('button');
    no.type = 'button';
    no.className = 'button button--secondary';
    no.dataset.action = 'cancel-delete';
    no.textContent = 'Keep';
    actions.replaceChildren(question, yes, no);
    no.focus();
  } else if (action === 'cancel-delete') {
    const again = deleteButton(item.dataset.label);
    const completed = item.dataset.status === 'completed';
    actions.replaceChildren(...(completed ? [reportLink(item.dataset.id, item.dataset.label)] : []), again);
    again.focus();
  } else if (action === 'confirm-delete') {
    await busy(button, 'Deleting…', async () => {
      try {
        await api(`/interviews/${encodeURIComponent(item.dataset.id)}`, { method: 'DELETE' });
      } catch (error) {
        if (error.status === 401) return onSignedOut();
        // 404: already gone (deleted in another tab); anything else: keep it and say why.
        if (error.status !== 404) {
          ui.listError.textContent = `Could not delete the interview. ${sentence(error.message)}`;
          return;
        }
      }
      item.remove();
      total = Math.max(0, total - 1);
      updateListFooter();
      ui.listStatus.textContent = `Interview deleted. ${ui.listStatus.textContent}`.trim();
      ui.listTitle.focus();
    });
  }
}

// ---- Progress ----

function skillName(slug) {
  return catalog.skills.find((skill) => skill.slug === slug)?.name ?? slug;
}

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

async function loadProgress() {
  const mine = generation;
  const view = ui.progress;
  view.error.textContent = '';
  view.status.textContent = 'Loading your progress…';
  let data;
  try {
    data = await api('/progress');
  } catch (error) {
    if (mine !== generation) return;
    if (error.status === 401) return onSignedOut();
    view.status.textContent = '';
    view.error.textContent = `Could not load your progress. ${sentence(error.message)}`;
    return;
  }
  if (mine !== generation) return;
  const completed = data?.completed_interviews ?? 0;
  view.status.textContent = completed === 0 ? '' : `Over ${plural(completed, 'completed interview')}.`;
  view.empty.hidden = completed > 0;
  view.chart.hidden = completed === 0;
  const skills = data?.skills ?? [];
  if (completed > 0) {
    view.trend.replaceChildren(trendChart(skills));
    view.legend.replaceChildren(...skills.map(legendItem));
  }
  renderWeakest(completed > 0 ? data?.weakest : null);
  renderSuggestion(data?.suggestion ?? null);
}

/** "Databases 72/100 ▲ 8": the skill's colour, its latest score and the change since the last one. */
function legendItem(skill, index) {
  const item = document.createElement('li');
  item.className = `chart-legend__item ${seriesClass(index)}`;
  item.dataset.skill = skill.skill;
  const swatch = document.createElement('span');
  swatch.className = 'chart-legend__swatch';
  swatch.setAttribute('aria-hidden', 'true');
  const name = document.createElement('span');
  name.className = 'chart-legend__name';
  name.textContent = skill.name ?? skillName(skill.skill);
  item.append(swatch, name);
  if (typeof skill.latest === 'number') {
    const latest = document.createElement('span');
    latest.className = 'chart-legend__value';
    latest.textContent = `${Math.round(skill.latest)}/100`;
    item.append(' ', latest);
  }
  if (typeof skill.change === 'number') {
    const change = document.createElement('span');
    const rounded = Math.round(skill.change);
    change.className = `chart-legend__change chart-legend__change--${rounded > 0 ? 'up' : rounded < 0 ? 'down' : 'same'}`;
    change.textContent = rounded > 0 ? `▲ ${rounded}` : rounded < 0 ? `▼ ${-rounded}` : '= 0';
    change.title = rounded === 0 ? 'No change since the interview before' : `${rounded > 0 ? 'Up' : 'Down'} ${Math.abs(rounded)} since the interview before`;
    item.append(' ', change);
  }
  return item;
}

function renderWeakest(weakest) {
  const view = ui.progress;
  view.weakest.hidden = !weakest;
  if (!weakest) {
    view.weakest.textContent = '';
    return;
  }
  const name = document.createElement('strong');
  name.textContent = weakest.name ?? skillName(weakest.skill);
  view.weakest.replaceChildren('Your weakest skill: ', name, ` (${Math.round(weakest.score)}/100). Practising it will lift your scores the most.`);
  view.weakest.dataset.skill = weakest.skill;
}

function renderSuggestion(next) {
  const view = ui.progress;
  suggestion = next;
  view.startError.textContent = '';
  view.suggestion.hidden = !next;
  if (!next) return;
  const skills = (next.skills ?? []).map(skillName);
  const facts = [
    `${typeName(next.interview_type)} interview`,
    skills.length ? skills.join(', ') : 'a general mix of skills',
    capitalize(next.difficulty),
    plural(next.question_count, 'question'),
    `${next.time_limit_minutes} minutes`,
  ];
  view.what.textContent = facts.join(' · ');
  view.reason.textContent = next.reason ? sentence(next.reason) : '';
  view.reason.hidden = !next.reason;
}

async function onStartSuggestion(event) {
  if (!suggestion) return;
  const view = ui.progress;
  view.startError.textContent = '';
  const { interview_type, skills, difficulty, question_count, time_limit_minutes } = suggestion;
  const body = { interview_type, skills: skills ?? [], difficulty, question_count, time_limit_minutes };
  await busy(event.currentTarget, 'Planning your interview…', async () => {
    try {
      const interview = await api('/interviews', { method: 'POST', body });
      window.location.assign(interviewUrl(interview.id));
    } catch (error) {
      if (error.status === 401) return onSignedOut();
      view.startError.textContent = `Could not start the suggested interview. ${sentence(error.message)}`;
    }
  });
}

// ---- Saved questions ----

async function loadBookmarks() {
  const mine = generation;
  const view = ui.bookmarks;
  view.error.textContent = '';
  view.status.textContent = 'Loading your saved questions…';
  let bookmarks;
  try {
    bookmarks = await api('/bookmarks');
  } catch (error) {
    if (mine !== generation) return;
    if (error.status === 401) return onSignedOut();
    view.status.textContent = '';
    view.error.textContent = `Could not load your saved questions. ${sentence(error.message)}`;
    return;
  }
  if (mine !== generation) return;
  view.list.replaceChildren(...(bookmarks ?? []).map(bookmarkItem));
  updateBookmarksFooter();
}

function updateBookmarksFooter() {
  const view = ui.bookmarks;
  const shown = view.list.children.length;
  view.empty.hidden = shown > 0;
  view.status.textContent = shown === 0 ? '' : plural(shown, 'saved question');
}

function bookmarkItem(bookmark) {
  const item = document.createElement('li');
  item.className = 'bookmark-item';
  item.dataset.questionId = bookmark.question_id;
  const main = document.createElement('div');
  main.className = 'bookmark-item__main';
  const text = document.createElement('p');
  text.className = 'bookmark-item__text';
  text.textContent = bookmark.text;
  const meta = document.createElement('p');
  meta.className = 'bookmark-item__meta';
  const facts = [typeName(bookmark.interview_type), capitalize(bookmark.difficulty)].filter(Boolean);
  meta.append(`${facts.join(' · ')} · saved `);
  const when = document.createElement('time');
  when.dateTime = bookmark.created_at;
  when.textContent = formatDate(bookmark.created_at);
  meta.append(when);
  main.append(text, meta);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'button button--quiet';
  remove.dataset.action = 'remove-bookmark';
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove the saved question: ${bookmark.text}`);
  item.append(main, remove);
  return item;
}

async function onBookmarksClick(event) {
  const button = event.target.closest('button[data-action="remove-bookmark"]');
  if (!button) return;
  const item = button.closest('.bookmark-item');
  const view = ui.bookmarks;
  view.error.textContent = '';
  let removed = false;
  await busy(button, 'Removing…', async () => {
    try {
      await api(`/bookmarks/${encodeURIComponent(item.dataset.questionId)}`, { method: 'DELETE' });
      removed = true;
    } catch (error) {
      if (error.status === 401) return onSignedOut();
      // 404: already removed (in another tab).
      if (error.status === 404) removed = true;
      else view.error.textContent = `Could not remove the saved question. ${sentence(error.message)}`;
    }
  });
  if (!removed) return;
  item.remove();
  updateBookmarksFooter();
  view.status.textContent = `Question removed. ${view.status.textContent}`.trim();
  view.title.focus();
}

// ---- Leaderboard ----

const optInText = (on) =>
  on ? 'On: others see your display name and best score per interview type.' : 'Off: you are not shown on the leaderboard.';

/** The switch follows /auth/me's `leaderboard_opt_in` (asked again if `user` lacks it). */
async function loadOptIn(user) {
  const mine = generation;
  const view = ui.leaderboard;
  view.optInError.textContent = '';
  view.optIn.disabled = true;
  let optIn = user?.leaderboard_opt_in;
  if (typeof optIn !== 'boolean') {
    try {
      optIn = (await api('/auth/me'))?.leaderboard_opt_in;
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 401) return onSignedOut();
      view.optInError.textContent = `Could not load your leaderboard setting. ${sentence(error.message)}`;
      return;
    }
    if (mine !== generation) return;
  }
  view.optIn.checked = optIn === true;
  view.optIn.disabled = false;
  view.optInStatus.textContent = optInText(optIn === true);
}

async function onOptInChange() {
  const view = ui.leaderboard;
  const wanted = view.optIn.checked;
  view.optInError.textContent = '';
  view.optIn.disabled = true;
  view.optInStatus.textContent = 'Saving…';
  let answer;
  try {
    answer = await api('/me/leaderboard', { method: 'PUT', body: { opt_in: wanted } });
  } catch (error) {
    if (error.status === 401) return onSignedOut();
    view.optIn.checked = !wanted;
    view.optIn.disabled = false;
    view.optInStatus.textContent = optInText(!wanted);
    view.optInError.textContent = `Could not change your leaderboard setting. ${sentence(error.message)}`;
    return;
  }
  const on = typeof answer?.opt_in === 'boolean' ? answer.opt_in : wanted;
  view.optIn.checked = on;
  view.optIn.disabled = false;
  view.optInStatus.textContent = optInText(on);
  // Joining or leaving changes the tables.
  await loadLeaderboard();
}

async function loadLeaderboard() {
  const mine = generation;
  const view = ui.leaderboard;
  view.error.textContent = '';
  view.status.textContent = 'Loading the leaderboard…';
  let data;
  try {
    data = await api('/leaderboard');
  } catch (error) {
    if (mine !== generation) return;
    if (error.status === 401) return onSignedOut();
    view.status.textContent = '';
    view.error.textContent = `Could not load the leaderboard. ${sentence(error.message)}`;
    return;
  }
  if (mine !== generation) return;
  const types = (data?.types ?? []).filter((type) => type.entries?.length > 0);
  view.status.textContent = '';
  view.tables.replaceChildren(...types.map(leaderboardTable));
  view.empty.hidden = types.length > 0;
}

function leaderboardTable(type) {
  const frame = document.createElement('div');
  frame.className = 'table-frame';
  frame.dataset.type = type.interview_type;
  const table = document.createElement('table');
  table.className = 'leaderboard-table';
  table.dataset.type = type.interview_type;
  table.createCaption().textContent = type.name ?? typeName(type.interview_type);
  const head = table.createTHead().insertRow();
  for (const [text, className] of [['Rank', 'numeric'], ['Name', ''], ['Best score', 'numeric'], ['Interviews', 'numeric']]) {
    const cell = document.createElement('th');
    cell.scope = 'col';
    cell.textContent = text;
    if (className) cell.className = className;
    head.append(cell);
  }
  const body = table.createTBody();
  for (const entry of type.entries) {
    const row = body.insertRow();
    const rank = document.createElement('th');
    rank.scope = 'row';
    rank.className = 'numeric';
    rank.textContent = String(entry.rank);
    row.append(rank);
    row.insertCell().textContent = entry.display_name;
    const best = row.insertCell();
    best.className = 'numeric';
    best.textContent = typeof entry.best_score === 'number' ? `${Math.round(entry.best_score)}/100` : '–';
    const count = row.insertCell();
    count.className = 'numeric';
    count.textContent = String(entry.interviews);
  }
  frame.append(table);
  return frame;
}

function sentence(text) {
  const trimmed = String(text ?? '').trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
