// The recruiter's jobs page (/jobs.html): my jobs and a form for a new one; with ?job=ID, one
// job: its fields (edit, close, reopen), the form that invites a candidate by link (with an
// optional resume), and its candidates, kept current by the job's event stream
// (/api/v1/jobs/{id}/events: `snapshot`, `candidate`, `resync`). The list also holds the
// Webhooks section (webhooks.js).
//
// When it is drawn, <body data-ready="jobs"> (or "error", once a problem is shown).

import { API, api, busy, capitalize, fieldNamed, formatDate, humanize, STATUS_LABELS } from './api.js';
import { checkedSkills, renderSkillChoices, skillBoxes } from './skills.js';
import { showWebhooks } from './webhooks.js';

const MAX_SKILLS = 10;
const COUNT = { min: 1, max: 20 };
const MINUTES = { min: 5, max: 180 };
const MAX_TITLE = 200;
const MAX_RESUME_BYTES = 10 * 1024 * 1024;
const RESUME_EXTENSIONS = ['pdf', 'docx', 'txt'];
const LIVE_RETRY_FIRST_MS = 2000;
const LIVE_RETRY_MAX_MS = 30000;
const HIGHLIGHTS_SHOWN = 3;

const $ = (id) => document.getElementById(id);

/** A job form's fields, by the prefix of their ids (new-job-…, edit-…). */
function jobFields(prefix, formId) {
  return {
    form: $(formId),
    title: $(`${prefix}-title`),
    location: $(`${prefix}-location`),
    description: $(`${prefix}-description`),
    type: $(`${prefix}-type`),
    typeDescription: $(`${prefix}-type-description`),
    suggested: $(`${prefix}-skills-suggested`),
    other: $(`${prefix}-skills-other`),
    more: $(`${prefix}-skills-more`),
    difficulty: $(`${prefix}-difficulty`),
    count: $(`${prefix}-count`),
    minutes: $(`${prefix}-time`),
    showScores: $(`${prefix}-show-scores`),
    error: $(`${prefix}-error`),
    submit: $(`${prefix}-submit`),
    skillPrefix: `${prefix}-skill-`,
  };
}

const ui = {
  main: $('main'),
  loading: $('jobs-loading'),
  problem: $('jobs-problem'),
  problemTitle: $('jobs-problem-title'),
  problemText: $('jobs-problem-text'),
  problemLink: $('jobs-problem-link'),
  listView: $('jobs-list-view'),
  listTitle: $('jobs-title'),
  list: $('jobs-list'),
  listStatus: $('jobs-status'),
  listError: $('jobs-error'),
  listEmpty: $('jobs-empty'),
  create: jobFields('new-job', 'new-job-form'),
  jobView: $('job-view'),
  job: {
    title: $('job-title'),
    status: $('job-status'),
    facts: $('job-facts'),
    location: $('job-location-text'),
    description: $('job-description-text'),
    skills: $('job-skills-text'),
    error: $('job-error'),
    saved: $('job-saved'),
    edit: $('job-edit'),
    toggle: $('job-toggle'),
  },
  edit: { ...jobFields('edit', 'job-edit-form'), cancel: $('edit-cancel') },
  invite: {
    form: $('invite-form'),
    closed: $('invite-closed'),
    name: $('invite-name'),
    email: $('invite-email'),
    resume: $('invite-resume'),
    error: $('invite-form-error'),
    submit: $('invite-submit'),
  },
  result: {
    box: $('invite-result'),
    title: $('invite-result-title'),
    link: $('invite-link'),
    copy: $('invite-copy'),
    copyStatus: $('invite-copy-status'),
    email: $('invite-email-status'),
    close: $('invite-result-close'),
  },
  candidates: {
    title: $('candidates-title'),
    live: $('live-status'),
    csv: $('candidates-csv'),
    status: $('candidates-status'),
    activity: $('candidates-activity'),
    error: $('candidates-error'),
    empty: $('candidates-empty'),
    table: $('candidates-table'),
    body: $('candidates-body'),
  },
};

const FIELD_LABELS = {
  title: 'Job title',
  description: 'Description',
  location: 'Location',
  interview_type: 'Interview type',
  skills: 'Skills',
  difficulty: 'Difficulty',
  question_count: 'Questions',
  time_limit_minutes: 'Time limit',
  show_scores: 'Show scores',
  status: 'Status',
  name: 'Name',
  email: 'Email',
  resume: 'Resume',
};

const jobId = new URLSearchParams(window.location.search).get('job');

const page = {
  catalog: { types: [], skills: [] },
  job: null,
  /** The job's candidates by interview id, in the table's order (oldest first). */
  candidates: new Map(),
  events: null,
  liveTimer: null,
  liveRetryMs: LIVE_RETRY_FIRST_MS,
  /** Set once a problem replaced the page: nothing reconnects or redraws any more. */
  stopped: false,
};

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

const jobUrl = (id) => `/jobs.html?job=${encodeURIComponent(id)}`;

const reportUrl = (id) => `/report.html?id=${encodeURIComponent(id)}`;

const jobPath = (id) => `/jobs/${encodeURIComponent(id)}`;

function typeName(slug) {
  return page.catalog.types.find((type) => type.slug === slug)?.name ?? capitalize(String(slug ?? '').replace(/[-_]/g, ' '));
}

function skillName(slug) {
  return page.catalog.skills.find((skill) => skill.slug === slug)?.name ?? slug;
}

function formatBytes(bytes) {
  if (typeof bytes !== 'number') return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// ---- Problems ----

function showProblem(title, text, { linkText = 'Go to my interviews', href = '/' } = {}) {
  page.stopped = true;
  closeEvents();
  ui.loading.hidden = true;
  ui.listView.hidden = true;
  ui.jobView.hidden = true;
  ui.problemTitle.textContent = title;
  ui.problemText.textContent = text;
  ui.problemLink.textContent = linkText;
  ui.problemLink.href = href;
  ui.problem.hidden = false;
  ui.main.removeAttribute('aria-busy');
  document.body.dataset.ready = 'error';
  ui.problemTitle.focus();
}

/** Errors that end the page: the session is gone, or this account cannot hire. True if handled. */
function pageProblem(error) {
  if (error.status === 401) {
    showProblem('Please log in', 'Log in with your recruiter account to manage jobs and candidates.', { linkText: 'Log in' });
    return true;
  }
  if (error.status === 403) {
    showProblem(
      'This page is for recruiters',
      'Your account is a candidate account, so it has no jobs or candidates. Ask an administrator if you should be a recruiter.',
    );
    return true;
  }
  return false;
}

// ---- Job forms: shared by "New job" and "Edit" ----

function renderTypes(fields, selected) {
  const previous = selected ?? fields.type.value;
  fields.type.replaceChildren(...page.catalog.types.map((type) => new Option(type.name, type.slug)));
  if (page.catalog.types.some((type) => type.slug === previous)) fields.type.value = previous;
}

/** The type's skills: `chosen` (a Set) ticked, or the type's suggested ones. */
function renderSkills(fields, chosen = null) {
  const type = renderSkillChoices({
    catalog: page.catalog,
    typeSlug: fields.type.value,
    suggested: fields.suggested,
    other: fields.other,
    more: fields.more,
    idPrefix: fields.skillPrefix,
    chosen,
  });
  fields.typeDescription.textContent = type?.description ?? '';
}

function clearFieldErrors(fields) {
  fields.error.textContent = '';
  for (const input of fields.form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

function fieldInput(fields, name) {
  switch (name) {
    case 'title':
      return fields.title;
    case 'location':
      return fields.location;
    case 'description':
      return fields.description;
    case 'interview_type':
      return fields.type;
    case 'difficulty':
      return fields.difficulty;
    case 'question_count':
      return fields.count;
    case 'time_limit_minutes':
      return fields.minutes;
    case 'show_scores':
      return fields.showScores;
    case 'skills': {
      const boxes = skillBoxes(fields.form);
      const target = boxes.find((box) => box.checked) ?? boxes[0];
      if (target && fields.other.contains(target)) fields.more.open = true;
      return target;
    }
    default:
      return undefined;
  }
}

/** "title: must be …" → "Job title: Must be …." (the field `name`, when it is named). */
function fieldSentence(message, name = fieldNamed(message)) {
  const named = Boolean(name) && message.startsWith(`${name}: `) && Boolean(FIELD_LABELS[name]);
  return named ? `${FIELD_LABELS[name]}: ${humanize(message.slice(name.length + 2))}` : humanize(message);
}

/** Shows `message` ("field: reason" from the server, or our own) and marks the field. */
function showFieldError(fields, message, name = fieldNamed(message)) {
  fields.error.textContent = fieldSentence(message, name);
  const input = name ? fieldInput(fields, name) : undefined;
  if (input) {
    if (input.type !== 'checkbox') input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

/** The form's job, or a problem with it (checked here first, the server checks again). */
function readJob(fields) {
  const whole = (input) => (input.value.trim() === '' ? NaN : Number(input.value));
  const job = {
    title: fields.title.value.trim(),
    description: fields.description.value.trim(),
    location: fields.location.value.trim(),
    skills: checkedSkills(fields.form),
    interview_type: fields.type.value,
    difficulty: fields.difficulty.value,
    question_count: whole(fields.count),
    time_limit_minutes: whole(fields.minutes),
    show_scores: fields.showScores.checked,
  };
  if (!job.title) return { problem: ['title', 'enter the job’s title'] };
  if (job.title.length > MAX_TITLE) return { problem: ['title', `must be at most ${MAX_TITLE} characters`] };
  if (!job.interview_type) return { problem: ['interview_type', 'choose an interview type'] };
  if (job.skills.length > MAX_SKILLS) {
    return { problem: ['skills', `pick at most ${MAX_SKILLS} skills (${job.skills.length} are ticked)`] };
  }
  const count = job.question_count;
  if (!Number.isInteger(count) || count < COUNT.min || count > COUNT.max) {
    return { problem: ['question_count', `enter a whole number from ${COUNT.min} to ${COUNT.max}`] };
  }
  const minutes = job.time_limit_minutes;
  if (!Number.isInteger(minutes) || minutes < MINUTES.min || minutes > MINUTES.max) {
    return { problem: ['time_limit_minutes', `enter a whole number of minutes from ${MINUTES.min} to ${MINUTES.max}`] };
  }
  return { job };
}

/** A job's interview in words: "Behavioral interview · Medium · 5 questions · 30 minutes". */
function interviewFacts(job) {
  return [
    `${typeName(job.interview_type)} interview`,
    capitalize(job.difficulty),
    plural(job.question_count, 'question'),
    `${job.time_limit_minutes} minutes`,
  ];
}

function jobBadge(job) {
  const badge = document.createElement('span');
  badge.className = `badge badge--job-${job.status === 'open' ? 'open' : 'closed'}`;
  badge.textContent = job.status === 'open' ? 'Open' : 'Closed';
  return badge;
}

// ---- The list of jobs ----

async function showList() {
  let jobs;
  const catalog = loadCatalog();
  try {
    jobs = await api('/jobs');
  } catch (error) {
    if (pageProblem(error)) return;
    showProblem('Could not load your jobs', humanize(error.message), { linkText: 'Try again', href: '/jobs.html' });
    return;
  }
  const catalogError = await catalog;
  renderJobList(jobs ?? []);
  const fields = ui.create;
  if (catalogError) {
    fields.type.replaceChildren(new Option('Unavailable', ''));
    fields.error.textContent = `Could not load the interview types, so no job can be created just now. ${humanize(catalogError.message)}`;
    fields.submit.disabled = true;
  } else {
    renderTypes(fields);
    renderSkills(fields);
  }
  fields.form.addEventListener('submit', onCreate);
  fields.form.addEventListener('input', (event) => event.target.removeAttribute?.('aria-invalid'));
  fields.type.addEventListener('change', () => renderSkills(fields));
  await showWebhooks();
  ui.loading.hidden = true;
  ui.listView.hidden = false;
  ui.main.removeAttribute('aria-busy');
  document.body.dataset.ready = 'jobs';
}

/** Loads the interview types and skills; resolves to the error, or null. */
async function loadCatalog() {
  const [types, skills] = await Promise.allSettled([api('/interview-types'), api('/skills')]);
  if (types.status === 'fulfilled' && skills.status === 'fulfilled') {
    page.catalog = { types: types.value ?? [], skills: skills.value ?? [] };
    return null;
  }
  return types.status === 'rejected' ? types.reason : skills.reason;
}

function renderJobList(jobs) {
  ui.list.replaceChildren(...jobs.map(jobItem));
  ui.listEmpty.hidden = jobs.length > 0;
  const open = jobs.filter((job) => job.status === 'open').length;
  ui.listStatus.textContent = jobs.length === 0 ? '' : `${plural(jobs.length, 'job')}, ${open} open`;
}

function jobItem(job) {
  const item = document.createElement('li');
  item.className = 'job-item';
  item.dataset.jobId = job.id;
  item.dataset.status = job.status;
  const main = document.createElement('div');
  main.className = 'job-item__main';
  const link = document.createElement('a');
  link.className = 'job-item__title';
  link.href = jobUrl(job.id);
  link.textContent = job.title;
  const meta = document.createElement('p');
  meta.className = 'job-item__meta';
  const facts = interviewFacts(job);
  if (job.location) facts.unshift(job.location);
  const when = document.createElement('time');
  when.dateTime = job.created_at;
  when.textContent = formatDate(job.created_at);
  meta.append(jobBadge(job), ` ${facts.join(' · ')} · created `, when);
  main.append(link, meta);
  const open = document.createElement('a');
  open.className = 'button button--secondary button--small job-item__open';
  open.href = jobUrl(job.id);
  open.textContent = 'Candidates';
  open.setAttribute('aria-label', `Candidates for ${job.title}`);
  item.append(main, open);
  return item;
}

async function onCreate(event) {
  event.preventDefault();
  const fields = ui.create;
  clearFieldErrors(fields);
  const { job, problem } = readJob(fields);
  if (problem) {
    showFieldError(fields, `${problem[0]}: ${problem[1]}`, problem[0]);
    return;
  }
  await busy(event.submitter ?? fields.submit, 'Creating the job…', async () => {
    try {
      const created = await api('/jobs', { method: 'POST', body: job });
      window.location.assign(jobUrl(created.id));
    } catch (error) {
      if (pageProblem(error)) return;
      // 422 not_enough_questions names no field, but fewer questions is the fix.
      showFieldError(fields, error.message, error.code === 'not_enough_questions' ? 'question_count' : undefined);
    }
  });
}

// ---- One job ----

async function showJob() {
  const catalog = loadCatalog();
  let job;
  let candidates;
  try {
    [job, candidates] = await Promise.all([api(jobPath(jobId)), api(`${jobPath(jobId)}/candidates`)]);
  } catch (error) {
    if (pageProblem(error)) return;
    if (error.status === 404) {
      showProblem('Job not found', 'There is no such job, or it belongs to another recruiter.', { linkText: 'All jobs', href: '/jobs.html' });
    } else {
      showProblem('Could not load the job', humanize(error.message), { linkText: 'Try again', href: jobUrl(jobId) });
    }
    return;
  }
  // Without the catalog the job still shows (its type by slug); only editing needs it.
  const catalogError = await catalog;
  page.job = job;
  renderJob();
  renderCandidates(candidates ?? []);
  ui.candidates.csv.href = `${API}${jobPath(jobId)}/candidates.csv`;
  wireJob(catalogError);
  ui.loading.hidden = true;
  ui.jobView.hidden = false;
  ui.main.removeAttribute('aria-busy');
  document.body.dataset.ready = 'jobs';
  openEvents();
}

function wireJob(catalogError) {
  const view = ui.job;
  if (catalogError) {
    view.edit.disabled = true;
    view.edit.title = 'The interview types could not be loaded, so the job cannot be edited just now.';
  }
  view.edit.addEventListener('click', () => (ui.edit.form.hidden ? openEdit() : closeEdit()));
  view.toggle.addEventListener('click', onToggle);
  ui.edit.form.addEventListener('submit', onSave);
  ui.edit.form.addEventListener('input', (event) => event.target.removeAttribute?.('aria-invalid'));
  ui.edit.type.addEventListener('change', () => renderSkills(ui.edit));
  ui.edit.cancel.addEventListener('click', () => closeEdit({ focus: true }));
  ui.invite.form.addEventListener('submit', onInvite);
  ui.invite.form.addEventListener('input', (event) => event.target.removeAttribute?.('aria-invalid'));
  ui.invite.resume.addEventListener('change', onResumeChosen);
  ui.result.copy.addEventListener('click', onCopy);
  ui.result.close.addEventListener('click', hideInviteResult);
  ui.candidates.body.addEventListener('click', onCandidatesClick);
  window.addEventListener('pagehide', closeEvents);
  // Back from the browser's page cache: the stream was closed on the way out.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && !page.events) openEvents();
  });
}

function renderJob() {
  const { job } = page;
  const view = ui.job;
  view.title.textContent = job.title;
  document.title = `${job.title} — viva`;
  const badge = jobBadge(job);
  view.status.className = badge.className;
  view.status.textContent = badge.textContent;
  const facts = interviewFacts(job);
  facts.push(job.show_scores ? 'candidates see their scores' : 'scores hidden from candidates');
  facts.push(`created ${formatDate(job.created_at)}`);
  if (job.status === 'closed' && job.closed_at) facts.push(`closed ${formatDate(job.closed_at)}`);
  view.facts.textContent = facts.join(' · ');
  view.location.textContent = job.location ? `Location: ${job.location}` : '';
  view.location.hidden = !job.location;
  view.description.textContent = job.description ?? '';
  view.description.hidden = !job.description;
  const skills = job.skills ?? [];
  view.skills.textContent = skills.length ? `Skills: ${skills.map(skillName).join(', ')}` : '';
  view.skills.hidden = skills.length === 0;
  const open = job.status === 'open';
  view.toggle.textContent = open ? 'Close job' : 'Reopen job';
  view.toggle.dataset.action = open ? 'close' : 'open';
  ui.jobView.dataset.status = job.status;
  // A closed job takes no new candidates (the server says so too: 409 job_closed).
  const invite = ui.invite;
  invite.closed.hidden = open;
  for (const input of [invite.name, invite.email, invite.resume, invite.submit]) input.disabled = !open;
}

function openEdit() {
  const { job } = page;
  const fields = ui.edit;
  clearFieldErrors(fields);
  fields.title.value = job.title;
  fields.location.value = job.location ?? '';
  fields.description.value = job.description ?? '';
  renderTypes(fields, job.interview_type);
  renderSkills(fields, new Set(job.skills ?? []));
  fields.difficulty.value = job.difficulty;
  fields.count.value = String(job.question_count);
  fields.minutes.value = String(job.time_limit_minutes);
  fields.showScores.checked = job.show_scores === true;
  fields.form.hidden = false;
  ui.job.edit.setAttribute('aria-expanded', 'true');
  ui.job.edit.textContent = 'Close editing';
  ui.job.saved.textContent = '';
  fields.title.focus();
}

function closeEdit({ focus = false } = {}) {
  ui.edit.form.hidden = true;
  ui.job.edit.setAttribute('aria-expanded', 'false');
  ui.job.edit.textContent = 'Edit';
  if (focus) ui.job.edit.focus();
}

const sameSkills = (a, b) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** The fields the edit form changed, as PATCH takes them. */
function changes(edited, job) {
  const change = {};
  for (const name of ['title', 'description', 'location', 'interview_type', 'difficulty', 'question_count', 'time_limit_minutes', 'show_scores']) {
    if (edited[name] !== (job[name] ?? (name === 'show_scores' ? false : ''))) change[name] = edited[name];
  }
  if (!sameSkills(edited.skills, job.skills ?? [])) change.skills = edited.skills;
  return change;
}

async function onSave(event) {
  event.preventDefault();
  const fields = ui.edit;
  clearFieldErrors(fields);
  const { job: edited, problem } = readJob(fields);
  if (problem) {
    showFieldError(fields, `${problem[0]}: ${problem[1]}`, problem[0]);
    return;
  }
  const change = changes(edited, page.job);
  if (Object.keys(change).length === 0) {
    closeEdit({ focus: true });
    ui.job.saved.textContent = 'Nothing changed.';
    return;
  }
  await busy(event.submitter ?? fields.submit, 'Saving…', async () => {
    try {
      page.job = await api(jobPath(page.job.id), { method: 'PATCH', body: change });
    } catch (error) {
      if (pageProblem(error)) return;
      showFieldError(fields, error.message, error.code === 'not_enough_questions' ? 'question_count' : undefined);
      return;
    }
    renderJob();
    closeEdit({ focus: true });
    ui.job.saved.textContent = 'Changes saved.';
  });
}

async function onToggle(event) {
  const button = event.currentTarget;
  const status = button.dataset.action === 'close' ? 'closed' : 'open';
  ui.job.error.textContent = '';
  ui.job.saved.textContent = '';
  await busy(button, status === 'closed' ? 'Closing…' : 'Reopening…', async () => {
    try {
      page.job = await api(jobPath(page.job.id), { method: 'PATCH', body: { status } });
    } catch (error) {
      if (pageProblem(error)) return;
      ui.job.error.textContent = `Could not ${status === 'closed' ? 'close' : 'reopen'} the job. ${humanize(error.message)}`;
      return;
    }
    ui.job.saved.textContent = status === 'closed' ? 'Job closed: no new candidates can be invited.' : 'Job reopened.';
  });
  renderJob();
}

// ---- Inviting a candidate ----

const extension = (name) => /\.([^.]+)$/.exec(name ?? '')?.[1]?.toLowerCase() ?? '';

/** The chosen resume's problem, if any (checked here first; the server checks the contents). */
function resumeProblem(file) {
  if (!file) return '';
  if (!RESUME_EXTENSIONS.includes(extension(file.name))) {
    return `resume: must be a PDF, a Word document (.docx) or a text file; “${file.name}” is not`;
  }
  if (file.size > MAX_RESUME_BYTES) {
    return `resume: must be at most 10 MB; “${file.name}” is ${formatBytes(file.size)}`;
  }
  if (file.size === 0) return `resume: “${file.name}” is empty`;
  return '';
}

function onResumeChosen() {
  const invite = ui.invite;
  invite.error.textContent = '';
  invite.resume.removeAttribute('aria-invalid');
  const problem = resumeProblem(invite.resume.files?.[0]);
  if (problem) {
    invite.error.textContent = fieldSentence(problem);
    invite.resume.setAttribute('aria-invalid', 'true');
  }
}

/** The file's bytes as base64 (without the data: URL's prefix). */
function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

const inviteFields = () => ({ name: ui.invite.name, email: ui.invite.email, resume: ui.invite.resume });

function showInviteError(message, name = fieldNamed(message)) {
  const invite = ui.invite;
  invite.error.textContent = fieldSentence(message, name);
  const input = name ? inviteFields()[name] : undefined;
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

async function onInvite(event) {
  event.preventDefault();
  const invite = ui.invite;
  invite.error.textContent = '';
  for (const input of Object.values(inviteFields())) input.removeAttribute('aria-invalid');
  const name = invite.name.value.trim();
  const email = invite.email.value.trim();
  const file = invite.resume.files?.[0];
  if (!name) return showInviteError('name: enter the candidate’s name', 'name');
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) return showInviteError('email: enter an email address like name@example.com', 'email');
  const problem = resumeProblem(file);
  if (problem) return showInviteError(problem, 'resume');

  await busy(event.submitter ?? invite.submit, file ? 'Uploading and inviting…' : 'Inviting…', async () => {
    const body = { name, email };
    if (file) {
      try {
        body.resume = { filename: file.name, content_base64: await base64Of(file) };
      } catch (error) {
        showInviteError(`resume: could not be read (${error.message})`, 'resume');
        return;
      }
    }
    let created;
    try {
      created = await api(`${jobPath(page.job.id)}/candidates`, { method: 'POST', body });
    } catch (error) {
      if (pageProblem(error)) return;
      onInviteFailed(error);
      return;
    }
    invite.form.reset();
    upsertCandidate(created.candidate, { flash: true });
    showInviteResult(created.invite_url, created.candidate, created.email_status);
  });
  // busy() re-enabled the button: a job closed meanwhile keeps it off.
  renderJob();
}

function onInviteFailed(error) {
  switch (error.code) {
    case 'job_closed':
      page.job = { ...page.job, status: 'closed' };
      renderJob();
      showInviteError(error.message || 'This job is closed: reopen it to invite candidates.');
      break;
    case 'unsupported_file_type':
      showInviteError(error.message, 'resume');
      break;
    case 'payload_too_large':
      showInviteError('resume: is too large; at most 10 MB are accepted', 'resume');
      break;
    default:
      showInviteError(error.message);
  }
}

const EMAIL_STATUS_TEXT = {
  sent: (candidate) => `Invitation emailed to ${candidate.email}.`,
  not_configured: () => 'Email not configured on this server: send the link yourself.',
  failed: () => 'Email failed: send the link yourself.',
  // A new link for an existing candidate is never emailed.
  none: (candidate) => `No email was sent: send the link to ${candidate.name} yourself.`,
};

/** Shows a candidate's link, this once (only its hash is kept on the server). */
function showInviteResult(url, candidate, emailStatus) {
  const result = ui.result;
  result.title.textContent = `Link for ${candidate.name}`;
  result.link.value = url;
  result.copyStatus.textContent = '';
  const text = EMAIL_STATUS_TEXT[emailStatus] ?? EMAIL_STATUS_TEXT.none;
  result.email.textContent = text(candidate);
  result.email.dataset.status = emailStatus;
  result.email.className = `invite-result__email invite-result__email--${emailStatus === 'sent' ? 'sent' : 'manual'}`;
  result.box.hidden = false;
  result.box.scrollIntoView?.({ block: 'nearest' });
  result.link.focus();
  result.link.select();
}

function hideInviteResult() {
  const result = ui.result;
  result.box.hidden = true;
  // Once dismissed, the link is gone from the page too.
  result.link.value = '';
  result.email.textContent = '';
  delete result.email.dataset.status;
  result.copyStatus.textContent = '';
  ui.invite.name.focus();
}

async function onCopy() {
  const result = ui.result;
  const url = result.link.value;
  try {
    await navigator.clipboard.writeText(url);
    result.copyStatus.textContent = 'Copied to the clipboard.';
    return;
  } catch {
    // no clipboard access (an http:// page, or permission refused): select it instead
  }
  result.link.focus();
  result.link.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  result.copyStatus.textContent = copied ? 'Copied to the clipboard.' : 'The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
}

// ---- Candidates ----

async function loadCandidates() {
  if (page.stopped) return;
  try {
    renderCandidates((await api(`${jobPath(jobId)}/candidates`)) ?? []);
    ui.candidates.error.textContent = '';
  } catch (error) {
    if (pageProblem(error)) return;
    ui.candidates.error.textContent = `Could not load the candidates. ${humanize(error.message)}`;
  }
}

/** The whole list (a snapshot, a reload): rows are redrawn in place, so none flashes again. */
function renderCandidates(list) {
  page.candidates = new Map(list.map((candidate) => [candidate.interview_id, candidate]));
  const body = ui.candidates.body;
  const rows = list.map((candidate) => fillRow(rowOf(candidate.interview_id) ?? document.createElement('tr'), candidate));
  const same = rows.length === body.children.length && rows.every((row, index) => body.children[index] === row);
  if (!same) body.replaceChildren(...rows);
  updateCandidatesFooter();
}

function updateCandidatesFooter() {
  const list = [...page.candidates.values()];
  const view = ui.candidates;
  view.empty.hidden = list.length > 0;
  view.table.hidden = list.length === 0;
  if (list.length === 0) {
    view.status.textContent = '';
    return;
  }
  const completed = list.filter((candidate) => candidate.status === 'completed').length;
  const live = list.filter((candidate) => candidate.status === 'in_progress').length;
  const parts = [plural(list.length, 'candidate'), `${completed} completed`];
  if (live) parts.push(`${live} interviewing now`);
  view.status.textContent = parts.join(' · ');
}

const rowOf = (interviewId) => ui.candidates.body.querySelector(`tr[data-interview-id="${CSS.escape(interviewId)}"]`);

const ACTIVITY_TEXT = {
  invited: (name) => `${name} was invited.`,
  revoked: (name) => `${name}’s links were revoked.`,
  opened: (name) => `${name} opened their invite link.`,
  started: (name) => `${name} started the interview.`,
  answered: (name) => `${name} answered a question.`,
  ended: (name) => `${name}’s interview ended.`,
};

/** A candidate changed (or is new): their row is redrawn in place (or added) and flashes. */
function upsertCandidate(candidate, { flash = false, activity } = {}) {
  if (!candidate?.interview_id) return;
  page.candidates.set(candidate.interview_id, candidate);
  let row = rowOf(candidate.interview_id);
  if (!row) {
    row = document.createElement('tr');
    ui.candidates.body.append(row);
  }
  fillRow(row, candidate);
  updateCandidatesFooter();
  if (activity && ACTIVITY_TEXT[activity]) ui.candidates.activity.textContent = ACTIVITY_TEXT[activity](candidate.name);
  if (flash) {
    row.classList.remove('is-flashing');
    // Restarts the animation when the row flashed a moment ago.
    void row.offsetWidth;
    row.classList.add('is-flashing');
    row.addEventListener('animationend', () => row.classList.remove('is-flashing'), { once: true });
  }
}

function cell(row, label, className = '') {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (className) td.className = className;
  row.append(td);
  return td;
}

function timeElement(iso, prefix = '') {
  const when = document.createElement('time');
  when.dateTime = iso;
  when.textContent = `${prefix}${formatDate(iso)}`;
  return when;
}

function small(className, ...children) {
  const p = document.createElement('p');
  p.className = className;
  p.append(...children);
  return p;
}

/** Draws `candidate` into `row` (a row mid-confirmation keeps its question). */
function fillRow(row, candidate) {
  const confirming = row.dataset.confirming === 'true' ? row.querySelector('.candidate__actions') : null;
  row.className = 'candidate-row';
  row.dataset.interviewId = candidate.interview_id;
  row.dataset.candidateId = candidate.id;
  row.dataset.status = candidate.status;
  row.dataset.inviteState = candidate.invite?.state ?? 'none';
  row.replaceChildren();

  const who = document.createElement('th');
  who.scope = 'row';
  who.className = 'candidate__who';
  const name = document.createElement('span');
  name.className = 'candidate__name';
  name.textContent = candidate.name;
  const email = document.createElement('a');
  email.className = 'candidate__email';
  email.href = `mailto:${candidate.email}`;
  email.textContent = candidate.email;
  who.append(name, email, small('candidate__note', timeElement(candidate.created_at, 'invited ')));
  row.append(who);

  const status = cell(row, 'Status');
  const badge = document.createElement('span');
  badge.className = `badge badge--${candidate.status}`;
  badge.textContent = STATUS_LABELS[candidate.status] ?? candidate.status;
  status.append(badge);
  if (candidate.completed_at) status.append(small('candidate__note', timeElement(candidate.completed_at, 'ended ')));
  else if (candidate.started_at) status.append(small('candidate__note', timeElement(candidate.started_at, 'started ')));

  const score = cell(row, 'Score', 'numeric candidate__score');
  if (typeof candidate.score === 'number') {
    score.textContent = `${Math.round(candidate.score)}/100`;
    score.dataset.score = String(Math.round(candidate.score));
  } else {
    score.textContent = '–';
    score.setAttribute('aria-label', 'no score yet');
  }

  row.append(inviteCell(candidate));
  row.append(resumeCell(candidate));

  if (confirming) row.append(confirming);
  else row.append(actionsCell(candidate));
  return row;
}

const INVITE_STATE_TEXT = { active: 'Active', expired: 'Expired', revoked: 'Revoked' };

function inviteCell(candidate) {
  const td = document.createElement('td');
  td.dataset.label = 'Link';
  td.className = 'candidate__invite';
  const invite = candidate.invite;
  if (!invite) {
    td.textContent = 'No link';
    return td;
  }
  const badge = document.createElement('span');
  badge.className = `badge badge--invite-${invite.state}`;
  badge.textContent = INVITE_STATE_TEXT[invite.state] ?? invite.state;
  const count = invite.access_count ?? 0;
  const opened = count === 0 ? 'not opened yet' : `opened ${count === 1 ? 'once' : `${count} times`}`;
  td.append(badge, ` ${opened}`);
  if (invite.last_access_at) td.append(small('candidate__note', timeElement(invite.last_access_at, 'last ')));
  if (invite.state === 'active') td.append(small('candidate__note', timeElement(invite.expires_at, 'expires ')));
  return td;
}

function resumeCell(candidate) {
  const td = document.createElement('td');
  td.dataset.label = 'Resume';
  td.className = 'candidate__resume';
  const resume = candidate.resume;
  if (!resume) {
    td.textContent = '–';
    td.setAttribute('aria-label', 'no resume');
    return td;
  }
  const link = document.createElement('a');
  link.href = `${API}/interviews/${encodeURIComponent(candidate.interview_id)}/resume`;
  link.download = resume.filename;
  link.textContent = resume.filename;
  link.className = 'candidate__file';
  link.setAttribute('aria-label', `Download ${candidate.name}’s resume, ${resume.filename}`);
  td.append(link, small('candidate__note', formatBytes(resume.size_bytes)));
  const highlights = (resume.highlights ?? []).slice(0, HIGHLIGHTS_SHOWN);
  if (highlights.length) {
    const mentions = small('candidate__note candidate__highlights', `Mentions ${highlights.join(', ')}`);
    mentions.title = (resume.highlights ?? []).join(', ');
    td.append(mentions);
  }
  return td;
}

function actionButton(action, text, label, className = 'button button--secondary button--small') {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = className;
  button.dataset.action = action;
  button.textContent = text;
  if (label) button.setAttribute('aria-label', label);
  return button;
}

function actionsCell(candidate) {
  const td = document.createElement('td');
  td.dataset.label = 'Actions';
  td.className = 'candidate__actions';
  td.append(actionButtons(candidate));
  return td;
}

function actionButtons(candidate) {
  const td = document.createElement('div');
  td.className = 'candidate__buttons';
  if (candidate.status === 'completed') {
    const report = document.createElement('a');
    report.className = 'button button--primary button--small candidate__report';
    report.href = reportUrl(candidate.interview_id);
    report.textContent = 'Report';
    report.setAttribute('aria-label', `Report on ${candidate.name}’s interview`);
    td.append(report);
  }
  // A new link works while the interview can still be held (an expired one comes back).
  if (['pending', 'in_progress', 'expired'].includes(candidate.status)) {
    td.append(actionButton('new-link', 'New link', `New link for ${candidate.name}`));
  }
  if (candidate.invite?.state === 'active') {
    td.append(actionButton('revoke', 'Revoke links', `Revoke ${candidate.name}’s links`, 'button button--quiet'));
  }
  return td;
}

async function onCandidatesClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const row = button.closest('tr.candidate-row');
  const candidate = page.candidates.get(row?.dataset.interviewId);
  if (!candidate) return;
  ui.candidates.error.textContent = '';
  switch (button.dataset.action) {
    case 'new-link':
      await newLink(button, candidate);
      break;
    case 'revoke':
      askRevoke(row, candidate);
      break;
    case 'cancel-revoke':
      endConfirm(row, candidate, 'revoke');
      break;
    case 'confirm-revoke':
      await revoke(button, row, candidate);
      break;
    default:
      break;
  }
}

async function newLink(button, candidate) {
  await busy(button, 'Making a link…', async () => {
    let issued;
    try {
      issued = await api(`/interviews/${encodeURIComponent(candidate.interview_id)}/invites`, { method: 'POST' });
    } catch (error) {
      if (pageProblem(error)) return;
      ui.candidates.error.textContent = `Could not make a new link for ${candidate.name}. ${humanize(error.message)}`;
      return;
    }
    showInviteResult(issued.invite_url, candidate, 'none');
    upsertCandidate({ ...candidate, invite: issued.invite }, { flash: true });
  });
  // A new link can bring an expired interview back: the server has the whole picture.
  await loadCandidates();
}

/** "Revoke all of Ada's links?" Revoke / Keep, in place of the row's actions. */
function askRevoke(row, candidate) {
  const actions = row.querySelector('.candidate__buttons');
  const question = document.createElement('span');
  question.className = 'candidate__confirm';
  question.id = `revoke-${candidate.id}`;
  question.textContent = `Revoke all of ${candidate.name}’s links? An interview in progress stops.`;
  const yes = actionButton('confirm-revoke', 'Revoke', null, 'button button--danger');
  yes.setAttribute('aria-describedby', question.id);
  const no = actionButton('cancel-revoke', 'Keep', null);
  actions.replaceChildren(question, yes, no);
  row.dataset.confirming = 'true';
  no.focus();
}

function endConfirm(row, candidate, focusAction) {
  delete row.dataset.confirming;
  fillRow(row, page.candidates.get(candidate.interview_id) ?? candidate);
  (row.querySelector(`[data-action="${focusAction}"]`) ?? ui.candidates.title).focus();
}

async function revoke(button, row, candidate) {
  let done = false;
  await busy(button, 'Revoking…', async () => {
    try {
      await api(`/interviews/${encodeURIComponent(candidate.interview_id)}/invites`, { method: 'DELETE' });
      done = true;
    } catch (error) {
      if (pageProblem(error)) return;
      ui.candidates.error.textContent = `Could not revoke ${candidate.name}’s links. ${humanize(error.message)}`;
    }
  });
  if (page.stopped) return;
  delete row.dataset.confirming;
  if (done) {
    ui.candidates.activity.textContent = `${candidate.name}’s links were revoked.`;
    await loadCandidates();
    rowOf(candidate.interview_id)?.querySelector('[data-action="new-link"]')?.focus();
  } else {
    endConfirm(row, candidate, 'revoke');
  }
}

// ---- Live updates: the job's event stream ----

function setLive(state, text) {
  const live = ui.candidates.live;
  live.dataset.state = state;
  live.textContent = text;
  live.title = state === 'connected' ? 'Changes to candidates show here as they happen.' : '';
}

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

function openEvents() {
  if (page.stopped || !window.EventSource) {
    if (!window.EventSource) setLive('unsupported', 'Live updates unavailable: reload to refresh');
    return;
  }
  clearTimeout(page.liveTimer);
  page.liveTimer = null;
  const source = new EventSource(`${API}${jobPath(jobId)}/events`);
  page.events = source;
  source.addEventListener('open', () => {
    if (source !== page.events) return;
    page.liveRetryMs = LIVE_RETRY_FIRST_MS;
    setLive('connected', 'Live');
  });
  source.addEventListener('snapshot', (event) => {
    const list = parse(event.data);
    if (source === page.events && Array.isArray(list)) renderCandidates(list);
  });
  source.addEventListener('candidate', (event) => {
    const update = parse(event.data);
    if (source === page.events && update?.candidate) {
      upsertCandidate(update.candidate, { flash: true, activity: update.activity });
    }
  });
  source.addEventListener('resync', () => {
    if (source === page.events) loadCandidates();
  });
  source.addEventListener('error', () => {
    if (source !== page.events) return;
    if (source.readyState !== EventSource.CLOSED) {
      // The browser reconnects by itself; the next `snapshot` brings the table up to date.
      setLive('reconnecting', 'Reconnecting…');
      return;
    }
    // Refused (a session that ended, a job that went away) or dropped for good: ask the API
    // why, then try again later.
    source.close();
    page.events = null;
    retryEvents();
  });
}

async function retryEvents() {
  if (page.stopped) return;
  const delay = page.liveRetryMs;
  page.liveRetryMs = Math.min(page.liveRetryMs * 2, LIVE_RETRY_MAX_MS);
  const seconds = Math.round(delay / 1000);
  setLive('reconnecting', `Reconnecting in ${seconds} s…`);
  await loadCandidates();
  if (page.stopped) return;
  page.liveTimer = setTimeout(openEvents, delay);
}

function closeEvents() {
  clearTimeout(page.liveTimer);
  page.liveTimer = null;
  page.events?.close();
  page.events = null;
}

// ---- Start ----

async function start() {
  if (jobId) await showJob();
  else await showList();
}

start();
