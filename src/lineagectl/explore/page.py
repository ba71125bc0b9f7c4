"""One self-contained HTML file for an explorer page: the data, the vendored libraries, the script.

Safety, because every string in the data comes from a store or an event:

- the data travels as JSON inside ``<script type="application/json">``, which the
  browser never runs; ``<``, ``>``, ``&``, U+2028 and U+2029 are written as ``\\uXXXX``
  escapes, so no name can close the element (``</script>``), open a comment
  (``<!--``) or break a line of script;
- the page's own script puts text on the page with ``textContent`` only, and the
  graph library draws labels on a canvas;
- a Content-Security-Policy allows nothing from the network (``default-src 'none'``)
  and only the page's own scripts, by their sha256, so even an injected element
  could neither run nor fetch anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

from lineagectl.explore.vendor import own_file, scripts

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_JSON_ESCAPES = {b"<": b"\\u003c", b">": b"\\u003e", b"&": b"\\u0026",
                 "\u2028".encode(): b"\\u2028", "\u2029".encode(): b"\\u2029"}


def script_json(data: object) -> str:
    """``data`` as JSON that is inert inside a ``<script>`` element of an HTML page."""
    import orjson

    text = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS, default=str)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text.decode()


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def page_title(payload: dict) -> str:
    """The page's title: whose lineage it draws."""
    root = next((n for n in payload["nodes"] if n["id"] == payload["root"]), None)
    return f"Lineage of {root['namespace']} {root['name']}" if root else "Lineage of the whole store"


def html_page(payload: dict) -> str:
    """The explorer page for a ``graph-page`` payload."""
    title = page_title(payload)
    code = [*scripts(), own_file("explorer.js")]
    # Cytoscape sets style attributes on its elements: styles need 'unsafe-inline'; scripts do not.
    policy = ("default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; "
              f"script-src {' '.join(_hash(c) for c in code)}; base-uri 'none'; form-action 'none'")
    # Each script is a text node of its own <script>: a vendored file holding "</script>" would end it.
    for source in code:
        if "</script" in source.lower() or "<!--" in source:
            raise ValueError("a script holds '</script' or '<!--': it cannot be inlined as it is")
    parts = {"csp": html.escape(policy, quote=False),  # no double quote in it: base64, keywords
              "title": html.escape(title), "style": own_file("explorer.css"),
             "scripts": "\n".join(f"<script>{c}</script>" for c in code), "data": script_json(payload)}
    # One pass over the template: what is put in is never searched for placeholders again.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], own_file("page.html"))
