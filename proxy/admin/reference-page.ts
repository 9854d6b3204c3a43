/**
 * The admin API reference at /admin/docs: one self-contained page (no CDN, no external
 * assets) that reads /admin/openapi.json and lists every operation with its parameters,
 * body and responses. Swagger UI and Scalar load their code from CDNs, which an offline or
 * locked-down deployment cannot reach.
 */
export const REFERENCE_PAGE = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin API reference</title>
<style>
  :root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --code: rgba(127,127,127,.12); }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 0 auto; padding: 24px; }
  h1 { margin-bottom: 4px; } .intro { color: var(--muted); margin-top: 0; }
  nav a { display: inline-block; margin: 0 12px 6px 0; }
  section { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 14px 0; }
  .method { font: 600 12px ui-monospace, monospace; padding: 2px 8px; border-radius: 4px; color: #fff; margin-right: 8px; text-transform: uppercase; }
  .get { background: #2563eb; } .post { background: #16a34a; } .put { background: #b45309; } .patch { background: #7c3aed; } .delete { background: #dc2626; }
  .path { font: 600 15px ui-monospace, monospace; }
  h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 14px 0 4px; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; } td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  pre { background: var(--code); padding: 8px 10px; border-radius: 6px; overflow-x: auto; font-size: 13px; margin: 4px 0; }
  code { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1 id="title">Admin API reference</h1>
<p class="intro" id="description">Loading /admin/openapi.json…</p>
<nav id="nav" aria-label="Operations"></nav>
<main id="operations"></main>
<script>
(async () => {
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };
  const doc = await fetch('openapi.json').then((r) => r.json());
  const schemas = doc.components?.schemas ?? {};
  // Inline $refs so each schema reads on its own.
  const resolve = (schema, seen = new Set()) => {
    if (!schema || typeof schema !== 'object') return schema;
    if (schema.$ref) {
      const name = schema.$ref.split('/').pop();
      return seen.has(name) ? { $ref: name } : resolve(schemas[name], new Set([...seen, name]));
    }
    if (Array.isArray(schema)) return schema.map((s) => resolve(s, seen));
    return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolve(v, seen)]));
  };
  const pre = (value) => el('pre', {}, el('code', { textContent: JSON.stringify(resolve(value), null, 2) }));
  document.getElementById('title').textContent = doc.info.title;
  document.getElementById('description').textContent = doc.info.description ?? '';
  const nav = document.getElementById('nav');
  const main = document.getElementById('operations');
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = (method + path).replace(/[^a-z0-9]+/gi, '-');
      nav.append(el('a', { href: '#' + id, textContent: method.toUpperCase() + ' /admin' + path }));
      const section = el('section', { id },
        el('div', {}, el('span', { className: 'method ' + method, textContent: method }), el('span', { className: 'path', textContent: '/admin' + path })),
        el('p', { textContent: op.summary ?? '' }));
      if (op.parameters?.length) {
        const rows = op.parameters.map((p) => el('tr', {}, el('td', {}, el('code', { textContent: p.name })), el('td', { textContent: p.in }),
          el('td', { textContent: p.required ? 'required' : 'optional' }), el('td', { textContent: p.schema?.description ?? p.description ?? '' })));
        section.append(el('h3', { textContent: 'Parameters' }), el('table', {}, ...rows));
      }
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) section.append(el('h3', { textContent: 'Request body' }), pre(body));
      section.append(el('h3', { textContent: 'Responses' }));
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const schema = response.content?.['application/json']?.schema;
        section.append(el('p', {}, el('strong', { textContent: status + ' ' }), response.description ?? ''));
        if (schema && status.startsWith('2')) section.append(pre(schema));
      }
      main.append(section);
    }
  }
})().catch((error) => { document.getElementById('description').textContent = 'Could not load the API description: ' + error; });
</script>
</body>
</html>`;
