// The live interview page (/interview.html?id=ID) of a signed-in person: loads the interview
// with the session cookie and hands it to the live core (live.js), which runs the WebSocket
// (/api/v1/interviews/{id}/ws), the microphone, the voice and the conversation.

import { api, humanize, isClosedStatus } from './api.js';
import * as live from './live.js';

const $ = (id) => document.getElementById(id);

const ui = {
  main: $('main'),
  loading: $('interview-loading'),
  problem: $('interview-problem'),
  problemTitle: $('interview-problem-title'),
  problemText: $('interview-problem-text'),
  problemLink: $('interview-problem-link'),
  view: $('interview-view'),
};

const interviewId = new URLSearchParams(window.location.search).get('id');

const load = () => api(`/interviews/${encodeURIComponent(interviewId)}`);

function showProblem(title, text, linkText = 'Go to my interviews') {
  ui.loading.hidden = true;
  ui.view.hidden = true;
  ui.problemTitle.textContent = title;
  ui.problemText.textContent = text;
  ui.problemLink.textContent = linkText;
  ui.problem.hidden = false;
  ui.main.removeAttribute('aria-busy');
  ui.problemTitle.focus();
}

/** A failed load once the page is open: the session ended, or the interview went away. */
function onLostAccess(error) {
  if (error.status === 401) {
    showProblem('Please log in again', 'Your session has ended. Log in, then open the interview from your list.', 'Log in');
  } else {
    showProblem('Interview not found', 'There is no such interview, or it belongs to someone else.');
  }
}

async function main() {
  live.init({
    reload: load,
    isFatal: (error) => error.status === 401 || error.status === 404,
    onFatal: onLostAccess,
  });
  if (!interviewId) {
    showProblem('No interview chosen', 'Open an interview from your list, or start a new one.');
    return;
  }
  const types = api('/interview-types').catch(() => []);
  let interview;
  try {
    interview = await load();
  } catch (error) {
    if (error.status === 401) {
      showProblem('Please log in', 'Log in to see this interview, then open it from your list.', 'Log in');
    } else if (error.status === 404) {
      showProblem('Interview not found', 'There is no such interview, or it belongs to someone else.');
    } else {
      showProblem('Could not load the interview', humanize(error.message));
    }
    return;
  }
  live.show(interview, { types: await types });
  ui.loading.hidden = true;
  ui.view.hidden = false;
  ui.main.removeAttribute('aria-busy');
  if (!isClosedStatus(interview.status)) live.connect();
}

main();
