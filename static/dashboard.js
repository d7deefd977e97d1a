// The signed-in dashboard on the landing page: my interviews (open, delete) and the form that
// plans a new one. app.js calls show() once someone is signed in and hide() when they leave.

import { api, busy, capitalize, fieldNamed, formatDate, STATUS_LABELS } from './api.js';

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

/** `onSignedOut` runs when an API call finds the session gone (401). */
export function init(options = {}) {
  onSignedOut = options.onSignedOut ?? onSignedOut;
  ui.form.addEventListener('submit', onCreate);
  ui.form.addEventListener('input', (event) => event.target.removeAttribute?.('aria-invalid'));
  ui.type.addEventListener('change', () => renderSkills());
  ui.list.addEventListener('click', onListClick);
  ui.moreButton.addEventListener('click', () => loadPage(page + 1));
}

export async function show() {
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
  await loadPage(1);
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
}

// ---- The new-interview form ----

function renderTypes() {
  const previous = ui.type.value;
  ui.type.replaceChildren(...catalog.types.map((type) => new Option(type.name, type.slug)));
  if (catalog.types.some((type) => type.slug === previous)) ui.type.value = previous;
  renderSkills();
}

const chosenType = () => catalog.types.find((type) => type.slug === ui.type.value);

/** The type's suggested skills, ticked, then every other skill behind "More skills". */
function renderSkills() {
  const type = chosenType();
  ui.typeDescription.textContent = type?.description ?? '';
  const suggested = type?.suggested_skills ?? [];
  const suggestedSlugs = new Set(suggested.map((skill) => skill.slug));
  const names = new Map(catalog.skills.map((skill) => [skill.slug, skill.name]));
  ui.suggested.replaceChildren(
    ...suggested.map((skill) => skillBox(skill.slug, names.get(skill.slug) ?? skill.name, true)),
  );
  const others = catalog.skills.filter((skill) => !suggestedSlugs.has(skill.slug));
  ui.other.replaceChildren(...others.map((skill) => skillBox(skill.slug, skill.name, false)));
  ui.more.hidden = others.length === 0;
  ui.more.open = false;
}

function skillBox(slug, name, checked) {
  const label = document.createElement('label');
  label.className = 'check';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.name = 'skills';
  box.value = slug;
  box.id = `new-interview-skill-${slug}`;
  box.checked = checked;
  const text = document.createElement('span');
  text.textContent = name;
  label.append(box, text);
  return label;
}

const skillBoxes = () => [...ui.form.querySelectorAll('input[name="skills"]')];

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
  if (typeof interview.score === 'number') facts.push(`score ${Math.round(interview.score * 10) / 10}`);
  meta.append(badge, ` ${facts.join(' · ')} · `, when);
  main.append(link, meta);

  const actions = document.createElement('div');
  actions.className = 'interview-item__actions';
  item.dataset.label = `the ${typeName(interview.interview_type)} interview of ${formatDate(interview.created_at)}`;
  actions.append(deleteButton(item.dataset.label));
  item.append(main, actions);
  return item;
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
    actions.replaceChildren(again);
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

function sentence(text) {
  const trimmed = String(text ?? '').trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
