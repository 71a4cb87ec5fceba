"""Server-rendered pages for the people in the loop: sessions, page chrome, log-in routes, charts.

Every service that shows pages (the operator console, a department's worklist, an auditor's
household, a policy version's impact) uses these, so that logging in, refusals, escaping and the
look are the same everywhere. No script, nothing external: the Content-Security-Policy says so.
"""
