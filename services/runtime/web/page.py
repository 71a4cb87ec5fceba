"""The pages' shared HTML: one inline style sheet, a header, the log-in form and refusals.

Pages hold no script and load nothing; every value is escaped by the page that renders it, and
`html()` masks resident identity numbers on the way out, so a page may be given any text.
Each page is usable with the keyboard alone (links, buttons and form fields in reading order,
a visible focus ring) and readable on a narrow screen (tables scroll inside their box).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fastapi.responses import HTMLResponse

from services.runtime.logging import mask_identity_numbers

# The pages hold no script and load nothing: the browser is told so.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c2430}
a{color:#1d4ed8}a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{
outline:3px solid #f59e0b;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:#1c2430;color:#fff;padding:12px 20px;display:flex;align-items:center;gap:24px;
flex-wrap:wrap}header h1{font-size:18px;margin:0}header .summary{margin:0;flex:1}
header a{color:#fff}header nav a{margin-right:12px}
header button{background:none;border:1px solid #8a94a6;color:#fff;border-radius:4px;
padding:3px 10px}header .user{color:#c9d1de;font-size:12px}
main{padding:8px 20px 24px;max-width:1400px}section{margin-top:18px}h2{font-size:16px;
margin:0 0 6px}h3{font-size:14px;margin:12px 0 4px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0002}
th,td{padding:5px 8px;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}td.n,th.n{text-align:right;
font-variant-numeric:tabular-nums}
.state{border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap}
.ok{background:#d9f2e1;color:#17603a}.warn{background:#fff1c9;color:#7a5200}
.bad{background:#fbdada;color:#8c1d1d}.parts{margin:0;padding:0;list-style:none;font-size:12px}
.parts li{display:inline-block;margin-right:8px}.parts .lag{color:#8c1d1d;font-weight:600}
.late{color:#8c1d1d;font-weight:700}.muted{color:#6b7687}.err{color:#8c1d1d;font-size:12px}
pre{background:#fff;padding:10px;overflow:auto;box-shadow:0 1px 2px #0002}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dt{font-weight:600}
dd{margin:0;min-width:0;overflow-wrap:anywhere}table.narrow{width:auto;min-width:min(420px,100%)}
#problems,.alert{background:#fbdada;color:#8c1d1d;padding:6px 12px;border-left:4px solid #8c1d1d}
.notice{background:#d9f2e1;color:#17603a;padding:6px 12px;border-left:4px solid #17603a}
form.login{background:#fff;padding:20px;max-width:360px;box-shadow:0 1px 2px #0002}
form.login input{width:100%;box-sizing:border-box;padding:6px;margin:8px 0}
form.card{background:#fff;padding:12px 16px;box-shadow:0 1px 2px #0002;margin-top:8px}
form.card label{display:block;font-weight:600;margin-top:8px}
form.card input,form.card select,form.card textarea{padding:5px;box-sizing:border-box;
max-width:100%;width:24em}fieldset{border:1px solid #e3e6eb;margin:8px 0}
.field-error{color:#8c1d1d;font-size:12px;display:block}
input[aria-invalid=true],select[aria-invalid=true],textarea[aria-invalid=true]{
border:2px solid #8c1d1d}
button.primary{background:#1d4ed8;color:#fff;border:0;border-radius:4px;padding:6px 14px;
margin-top:10px}
svg.chart{background:#fff;box-shadow:0 1px 2px #0002;max-width:100%;height:auto}
svg.chart text{font:11px system-ui,sans-serif;fill:#4b5565}
.legend{font-size:12px;margin:4px 0}.legend span{margin-right:12px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts figure{margin:0;flex:1 1 420px;
min-width:0}figcaption{font-weight:600;margin-bottom:4px}
@media (max-width:640px){main{padding:8px 10px}header{padding:10px}
th,td{padding:4px 5px}dl{grid-template-columns:1fr}dt{margin-top:6px}}
"""


def document(title: str, body: str, refresh_seconds: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title>{refresh}<style>{STYLE}</style></head>"
        f'<body><a class="skip" href="#main">skip to the content</a>{body}</body></html>'
    )


def header(
    title: str,
    summary: str = "",
    user: str | None = None,
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """The dark bar: title, links, a summary (HTML, already escaped), who is logged in."""
    links = "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in nav)
    who = f'<span class="user">{escape(user)}</span>' if user else ""
    return (
        f"<header><h1>{escape(title)}</h1>"
        + (f"<nav>{links}</nav>" if links else "")
        + f'<p class="summary">{summary}</p>{who}'
        '<form method="post" action="/logout"><button>log out</button></form></header>'
    )


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(mask_identity_numbers(body), status_code=status, headers=HEADERS)


def login_page(title: str, token_label: str, message: str = "", next_path: str = "") -> str:
    note = f'<p class="err" role="alert">{escape(message)}</p>' if message else ""
    hidden = f'<input type="hidden" name="next" value="{escape(next_path)}">' if next_path else ""
    body = (
        f'<main id="main"><h2>{escape(title)}</h2>'
        '<form class="login" method="post" action="/login">'
        f'{note}<label for="token">{escape(token_label)}</label>'
        '<input id="token" name="token" type="password" autocomplete="off" autofocus>'
        f'{hidden}<button type="submit">log in</button></form></main>'
    )
    return document(f"{title}: log in", body)


def refusal_page(status: int, reason: str, who: str) -> str:
    title = "log in first" if status == 401 else "not allowed"
    body = (
        f'<main id="main"><h2>{status}: {escape(title)}</h2><p id="reason">{escape(reason)}</p>'
        f'<p><a href="/login">log in with another token ({escape(who)})</a></p></main>'
    )
    return document(title, body)


def not_found_page(what: str) -> str:
    body = f'<main id="main"><h2>404: not found</h2><p id="reason">{escape(what)}</p></main>'
    return document("not found", body)


def number(value: int | float | None, suffix: str = "") -> str:
    if value is None:
        return '<span class="muted">–</span>'
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return escape(text + suffix)


def ago(seconds: float | None) -> str:
    if seconds is None:
        return '<span class="muted">never</span>'
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago" if seconds < 7200 else f"{seconds / 3600:.1f} h ago"
