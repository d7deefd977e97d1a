// The API page (api.html): renders /api/v1/openapi.json as a readable reference, grouped by
// tag: each route's method and path, who may call it (session, API key scope, invite token),
// its parameters, request body and answers, with schemas shown as nested field lists.

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

let doc = null;

/** The schema a `$ref` names, or the schema itself. */
function resolve(schema) {
  const ref = schema?.$ref;
  if (!ref) return schema ?? {};
  const name = ref.split('/').pop();
  return doc.components?.schemas?.[name] ?? {};
}

/** A short name for a schema's type: `string`, `Job`, `array of Candidate`, `one of …`. */
function typeName(schema) {
  if (!schema) return 'any';
  if (schema.$ref) {
    const target = resolve(schema);
    // Named plain values (ids, closed sets) read better as what they are.
    if (target.enum || (target.type && !target.properties && !target.items)) return typeName(target);
    return schema.$ref.split('/').pop();
  }
  if (schema.enum) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const types = [].concat(schema.type ?? []).filter((t) => t !== 'null');
  const nullable = [].concat(schema.type ?? []).includes('null');
  let name;
  if (types[0] === 'array') name = `array of ${typeName(schema.items)}`;
  else if (schema.oneOf || schema.anyOf) {
    const parts = (schema.oneOf ?? schema.anyOf).filter((s) => s.type !== 'null').map(typeName);
    name = parts.join(' or ');
    if ((schema.oneOf ?? schema.anyOf).some((s) => s.type === 'null')) name += ' or null';
  } else name = types[0] ?? (schema.properties ? 'object' : 'any');
  if (schema.format) name += ` (${schema.format})`;
  return nullable ? `${name} or null` : name;
}

/** A schema as a nested list of its fields (named schemas open once, to stop cycles). */
function schemaView(schema, seen = new Set()) {
  const name = schema?.$ref?.split('/').pop();
  const target = resolve(schema);
  const item = target.type === 'array' || [].concat(target.type ?? []).includes('array') ? resolve(target.items) : null;
  const body = item ?? target;
  const parts = [...(body.allOf ?? []), body];
  const properties = Object.assign({}, ...parts.map((p) => resolve(p).properties ?? {}));
  const required = new Set(parts.flatMap((p) => resolve(p).required ?? []));
  if (!Object.keys(properties).length || (name && seen.has(name))) return null;
  const inner = new Set(seen);
  if (name) inner.add(name);
  const list = el('ul', { class: 'api-docs__fields' });
  for (const [field, sub] of Object.entries(properties)) {
    const line = el('li', {},
      el('code', { text: field }),
      ` ${typeName(sub)}${required.has(field) ? '' : ' (optional)'}`,
      sub.description ? el('span', { class: 'api-docs__hint' }, ' — ', ...prose(sub.description)) : null);
    const nested = schemaView(sub.items ?? sub, inner);
    if (nested) line.append(nested);
    list.append(line);
  }
  return list;
}

/** Text with `code` spans, as nodes. */
function prose(text) {
  return text.split(/(`[^`]+`)/).map((part) =>
    (part.startsWith('`') && part.endsWith('`') && part.length > 2 ? el('code', { text: part.slice(1, -1) }) : part));
}

function who(operation) {
  const requirements = operation.security ?? [];
  if (!requirements.length) return 'Anyone';
  return requirements.map((req) => {
    const [scheme, scopes] = Object.entries(req)[0];
    if (scheme === 'api_key') return `an API key with ${scopes.map((s) => `“${s}”`).join(', ')}`;
    if (scheme === 'invite_token') return 'a candidate’s invite token (X-Interview-Token)';
    return 'a signed-in session';
  }).join(', or ');
}

function content(body) {
  const [type, media] = Object.entries(body?.content ?? {})[0] ?? [];
  if (!type) return null;
  return el('div', {},
    el('p', {}, el('code', { text: type }), media.schema ? ` — ${typeName(media.schema)}` : ''),
    media.schema ? schemaView(media.schema) : null);
}

function operationView(method, path, operation) {
  const id = operation.operationId ?? `${method}-${path}`;
  const section = el('section', { class: 'card api-docs__op', id, 'aria-labelledby': `${id}-title` },
    el('h3', { id: `${id}-title`, class: 'api-docs__route' },
      el('span', { class: `api-docs__method api-docs__method--${method}`, text: method.toUpperCase() }),
      ' ', el('code', { text: path })));
  if (operation.summary) section.append(el('p', {}, ...prose(operation.summary)));
  if (operation.description && operation.description !== operation.summary) {
    for (const para of operation.description.split('\n\n')) section.append(el('p', { class: 'api-docs__hint' }, ...prose(para)));
  }
  section.append(el('p', {}, el('strong', { text: 'Who: ' }), who(operation)));
  if (operation.parameters?.length) {
    section.append(el('h4', { text: 'Parameters' }), el('ul', { class: 'api-docs__fields' },
      ...operation.parameters.map((p) => el('li', {}, el('code', { text: p.name }),
        ` in ${p.in}, ${typeName(p.schema)}${p.required ? '' : ' (optional)'}`,
        p.description ? el('span', { class: 'api-docs__hint', text: ` — ${p.description}` }) : null))));
  }
  if (operation.requestBody) section.append(el('h4', { text: 'Request body' }), content(operation.requestBody));
  section.append(el('h4', { text: 'Answers' }));
  const answers = el('dl', { class: 'api-docs__answers' });
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    answers.append(el('dt', { text: status }), el('dd', {}, response.description ?? '',
      Number(status) < 400 ? content(response) : null));
  }
  section.append(answers);
  return section;
}

function render() {
  $('docs-title').textContent = `${doc.info.title} API ${doc.info.version}`;
  $('docs-intro').replaceChildren(...prose(doc.info.description ?? ''));
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const operation = item[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationView(method, path, operation));
    }
  }
  const body = $('docs-body');
  for (const [tag, operations] of byTag) {
    const slug = `tag-${tag.replace(/[^a-z0-9]+/gi, '-')}`;
    $('docs-toc').append(el('li', {}, el('a', { href: `#${slug}`, text: `${tag} (${operations.length})` })));
    body.append(el('h2', { id: slug, class: 'api-docs__tag', text: tag }), ...operations);
  }
  const codes = resolve({ $ref: '#/components/schemas/ErrorCode' }).enum ?? [];
  body.append(el('h2', { id: 'errors', class: 'api-docs__tag', text: 'Errors' }),
    el('p', { text: 'Every error answers {"error": {"code": …, "message": …}}; the codes:' }),
    el('p', {}, ...codes.flatMap((code) => [el('code', { text: code }), ' '])));
  $('docs-toc').append(el('li', {}, el('a', { href: '#errors', text: 'Errors' })));
  $('docs-head').hidden = false;
}

async function start() {
  try {
    const res = await fetch('/api/v1/openapi.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    doc = await res.json();
    render();
  } catch (error) {
    $('docs-error').textContent = `Could not load the API description: ${error.message}.`;
  } finally {
    $('docs-loading').hidden = true;
    $('main').removeAttribute('aria-busy');
  }
}

start();
