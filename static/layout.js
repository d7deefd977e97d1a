// Markup that more than one page shares, as custom elements (no build step), and the tab's icon,
// which this module adds to <head>:
//
//   <viva-header>…the page's own header items…</viva-header>
//                                           the skip link, then the site header with the brand
//   <viva-header plain>…</viva-header>      the brand is not a link (the candidate's page)
//   <viva-footer>…the footer's text…</viva-footer>
//   <viva-interview-fields prefix="P">      an interview's settings (type, skills, difficulty,
//                                           questions, time), every id starting with P
//   <viva-live-panel>…extra actions…</viva-live-panel>
//                                           a live interview's controls and conversation
//                                           (live.js drives them), the children placed before
//                                           the Finish button
//
// Each replaces itself with the full markup, moving its children in unchanged (their ids and
// listeners stay). Load this module before the page's own module: modules run in document
// order, so the page's script finds the finished markup.

/** viva's mark: five bars of a sound wave on a rounded square. */
const MARK = 'M8 13v6M12 9v14M16 12v8M20 7v18M24 13v6';

const BRAND = `
  <svg class="brand__mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
    <rect width="32" height="32" rx="8"></rect>
    <path d="${MARK}"></path>
  </svg>
  <span class="brand__name">viva</span>`;

/** The tab's icon: the mark in the light theme's colours, as a data: address (the CSP allows
 * data: images). */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <rect width="32" height="32" rx="8" fill="#0f766e"/>
  <path d="${MARK}" stroke="white" stroke-width="2.5" stroke-linecap="round"/>
</svg>`;

/** A new `<tag class="className">` holding `children`, nodes or text (nodes are moved, not copied). */
const element = (tag, className, ...children) => {
  const node = document.createElement(tag);
  node.className = className;
  node.append(...children);
  return node;
};

/** The nodes `html` describes, as a fragment to put in the page. */
const fragment = (html) => {
  const template = document.createElement('template');
  template.innerHTML = html;
  return template.content;
};

class VivaHeader extends HTMLElement {
  connectedCallback() {
    const skip = element('a', 'skip-link', 'Skip to content');
    skip.href = '#main';
    const plain = this.hasAttribute('plain');
    const brand = element(plain ? 'span' : 'a', 'brand', fragment(BRAND));
    if (!plain) {
      brand.href = '/';
      brand.setAttribute('aria-label', 'viva home');
    }
    const nav = element('nav', 'site-header__nav', ...this.childNodes);
    nav.setAttribute('aria-label', 'Main');
    const inner = element('div', 'container site-header__inner', brand, nav);
    this.replaceWith(skip, element('header', 'site-header', inner));
  }
}

class VivaFooter extends HTMLElement {
  connectedCallback() {
    this.replaceWith(element('footer', 'site-footer', element('div', 'container', ...this.childNodes)));
  }
}

/** The interview settings of a form; `prefix` is a fixed id prefix written in the page. */
const interviewFields = (prefix) => `
  <div class="field">
    <label for="${prefix}-type">Interview type</label>
    <select id="${prefix}-type" name="interview_type" required
            aria-describedby="${prefix}-type-description">
      <option value="">Loading…</option>
    </select>
    <p id="${prefix}-type-description" class="field__hint"></p>
  </div>

  <fieldset id="${prefix}-skills" class="field skills" aria-describedby="${prefix}-skills-hint">
    <legend>Skills</legend>
    <p id="${prefix}-skills-hint" class="field__hint">
      The type’s suggested skills are ticked. Pick up to 10, or none for a general mix.
    </p>
    <div id="${prefix}-skills-suggested" class="skills__list"></div>
    <details id="${prefix}-skills-more" class="skills__more">
      <summary>More skills</summary>
      <div id="${prefix}-skills-other" class="skills__list"></div>
    </details>
  </fieldset>

  <div class="field-row">
    <div class="field">
      <label for="${prefix}-difficulty">Difficulty</label>
      <select id="${prefix}-difficulty" name="difficulty">
        <option value="easy">Easy</option>
        <option value="medium" selected>Medium</option>
        <option value="hard">Hard</option>
      </select>
    </div>
    <div class="field">
      <label for="${prefix}-count">Questions</label>
      <input id="${prefix}-count" name="question_count" type="number" inputmode="numeric"
             min="1" max="20" step="1" value="5" required>
    </div>
    <div class="field">
      <label for="${prefix}-time">Time (minutes)</label>
      <input id="${prefix}-time" name="time_limit_minutes" type="number" inputmode="numeric"
             min="5" max="180" step="1" value="30" required>
    </div>
  </div>`;

class VivaInterviewFields extends HTMLElement {
  connectedCallback() {
    this.replaceWith(fragment(interviewFields(this.getAttribute('prefix'))));
  }
}

const LIVE_PANEL = `
  <section id="interview-controls" class="card interview__controls" aria-label="Interview controls">
    <div class="live-status">
      <p id="state" class="state state--idle" data-state="idle" role="status" aria-live="polite">Not started</p>
      <p id="progress" class="live-status__progress"></p>
    </div>
    <div class="connection">
      <p id="connection" class="connection__text" role="status" aria-live="polite"></p>
      <button id="reconnect-button" type="button" class="button button--secondary button--small" hidden>
        Continue in this tab
      </button>
    </div>

    <div class="level">
      <label for="level-meter">Microphone</label>
      <meter id="level-meter" class="level__meter" min="0" max="1" low="0.15" high="0.85" optimum="0.5" value="0">
        silent
      </meter>
      <span id="mic-status" class="level__status">off</span>
    </div>

    <p id="live-error" class="form-error" role="alert"></p>

    <div id="live-actions" class="actions">
      <button id="finish-button" type="button" class="button button--secondary" disabled>Finish interview</button>
    </div>

    <div class="controls-row">
      <label class="switch" for="mode-toggle">
        <input id="mode-toggle" type="checkbox" role="switch" aria-describedby="mode-hint">
        <span>Push-to-talk</span>
      </label>
      <button id="mute-button" type="button" class="button button--secondary button--small" aria-pressed="false">
        Mute interviewer
      </button>
    </div>
    <p id="mode-hint" class="field__hint">
      Hands-free: just answer. A pause of about a second and a half ends your answer.
    </p>
    <p id="voice-note" class="field__hint" hidden></p>
    <p id="voice-caption" class="voice-caption" hidden aria-hidden="true"></p>

    <button id="talk-button" type="button" class="button button--primary talk-button" hidden disabled
            aria-pressed="false" aria-describedby="mode-hint">Hold to talk</button>
  </section>

  <section class="card interview__conversation" aria-labelledby="transcript-title">
    <h2 id="transcript-title" class="card__title">Conversation</h2>
    <ol id="transcript" class="transcript" tabindex="0" aria-labelledby="transcript-title"
        aria-live="polite" aria-relevant="additions text"></ol>
    <p id="transcript-empty" class="empty">The interviewer speaks first once you start.</p>

    <form id="text-form" class="text-form" novalidate>
      <label for="text-input" class="text-form__label">Type an answer instead</label>
      <div class="text-form__row">
        <input id="text-input" name="text" type="text" maxlength="4000" autocomplete="off" disabled>
        <button id="text-send" type="submit" class="button button--primary" disabled>Send</button>
      </div>
    </form>
  </section>`;

class VivaLivePanel extends HTMLElement {
  connectedCallback() {
    const panel = fragment(LIVE_PANEL);
    panel.getElementById('live-actions').prepend(...this.childNodes);
    this.replaceWith(panel);
  }
}

const icon = document.createElement('link');
icon.rel = 'icon';
icon.href = `data:image/svg+xml,${encodeURIComponent(ICON)}`;
document.head.append(icon);

customElements.define('viva-header', VivaHeader);
customElements.define('viva-footer', VivaFooter);
customElements.define('viva-interview-fields', VivaInterviewFields);
customElements.define('viva-live-panel', VivaLivePanel);
