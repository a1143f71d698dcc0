"""``GET /docs``: the API's routes, read from the server's own ``/openapi.json`` by a page that
loads nothing from anywhere else (Swagger UI's page would fetch its code from a CDN)."""

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mouthpiece API</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'unsafe-inline' 'self';
 style-src 'unsafe-inline'">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}section{border-top:1px solid #ddd;padding:.5rem 0}
.m{font-weight:bold;text-transform:uppercase;margin-right:.5em}</style></head>
<body><h1>mouthpiece API</h1><p>The machine-readable description is <a href="openapi.json">openapi.json</a>.
The live stream is <code>WS /v1/stream</code> (its protocol is in the README).</p><div id="routes"></div>
<script>
fetch("openapi.json").then(r => r.json()).then(spec => {
  const out = document.getElementById("routes");
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const s = document.createElement("section");
      const h = document.createElement("h3");
      const m = document.createElement("span"); m.className = "m"; m.textContent = method;
      h.append(m, document.createTextNode(path)); s.append(h);
      const params = (op.parameters || []).map(p => p.name + " (" + p.in + ")");
      const body = op.requestBody ? Object.keys(op.requestBody.content || {}).join(", ") : "";
      const p = document.createElement("p");
      p.textContent = (op.summary || "") + (params.length ? " Parameters: " + params.join(", ") + "." : "")
        + (body ? " Body: " + body + "." : "");
      s.append(p); out.append(s);
    }
  }
});
</script></body></html>
"""
