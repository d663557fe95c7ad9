"""The pre-launch checklist as one self-contained HTML file a founder can open, read and print.

Inline CSS only: no script, no font, no image, nothing fetched. Every string that came from the scanned
site (locations, details, notes, the target itself) goes through `html.escape`, and a Content-Security-
Policy meta tag forbids scripts and remote loads, so even a missed escape could not run code or call home.
"""

from __future__ import annotations

from html import escape

from probe.checklist import Checklist, Item, ItemStatus, build
from probe.model import Report, Severity, Table, cell_text
from probe.reporters import docs_url
from probe.reporters.checklist import headline, printable, verdict
from probe.reporters.json import iso_utc

_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24}
body{max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .1rem;border-bottom:2px solid #d0d7de}
.q{color:#57606a;margin:0 0 .5rem;font-style:italic}.meta{color:#57606a}
.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.ready{background:#dafbe1;border:1px solid #1a7f37}.blocked{background:#ffebe9;border:1px solid #cf222e}
ul.items{list-style:none;padding:0;margin:0}
li.item{border-left:4px solid #d0d7de;padding:.35rem .75rem;margin:.4rem 0;break-inside:avoid}
li.failed{border-color:#cf222e}li.error{border-color:#bf8700}li.passed{border-color:#1a7f37}
li.accepted{border-color:#8250df}li.not-run{border-color:#8c959f}
.badge{display:inline-block;min-width:7.5rem;font-weight:600}
.failed .badge{color:#cf222e}.error .badge{color:#9a6700}.passed .badge{color:#1a7f37}
.accepted .badge{color:#8250df}.not-run .badge{color:#57606a}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
ul.sub{margin:.2rem 0 .2rem 1rem;padding-left:1rem}ul.sub li{overflow-wrap:anywhere}
.label{font-weight:600}a{color:#0969da}
table.measured{border-collapse:collapse;margin:.3rem 0;font-size:13px}
table.measured th,table.measured td{border:1px solid #d0d7de;padding:.15rem .5rem;text-align:right}
table.measured caption{text-align:left;font-weight:600}
@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}.verdict{border-width:2px}}
"""

_CLASSES = {
    ItemStatus.FAILED: "failed",
    ItemStatus.ERROR: "error",
    ItemStatus.NOT_RUN: "not-run",
    ItemStatus.ACCEPTED: "accepted",
    ItemStatus.PASSED: "passed",
}


def render(report: Report, *, fail_on: Severity = Severity.HIGH, allow_errors: bool = False) -> str:
    """The checklist of the checks this report ran (`probe checklist` lists every registered check)."""
    return render_checklist(build(report, fail_on=fail_on, allow_errors=allow_errors))


def render_checklist(checklist: Checklist) -> str:
    report = checklist.report
    e = _e
    body = [
        "<h1>Pre-launch checklist</h1>",
        f'<p class="meta">Target <code>{e(report.target)}</code> · mode {e(report.mode.value)} · '
        f"{report.requests_sent} requests · {report.duration_s:.1f} s · started {e(iso_utc(report.started))} · "
        f"probe {e(report.tool_version)}</p>",
        f'<p class="verdict {"ready" if checklist.ready and not report.interrupted else "blocked"}">'
        f"{e(verdict(checklist))}<br>{e(headline(checklist))}</p>",
    ]
    for section in checklist.sections:
        body += [f"<h2>{e(section.group.title)}</h2>", f'<p class="q">{e(section.group.question)}</p>', '<ul class="items">']
        body += [_item(item, _tables(report, item.info.id)) for item in section.items]
        body.append("</ul>")
    if report.notes:
        body += ["<h2>Notes</h2>", '<ul class="sub">', *(f"<li>{e(n)}</li>" for n in report.notes), "</ul>"]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>probe checklist: {e(report.target)}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
        ]
    ) + "\n"


def _tables(report: Report, check_id: str) -> list[Table]:
    """The distinct tables the check's results carry (a load ramp's steps)."""
    return list(dict.fromkeys(r.table for r in report.results if r.check == check_id and r.table is not None))


def _table(table: Table) -> str:
    e = _e
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    rows = "".join("<tr>" + "".join(f"<td>{e(cell_text(c))}</td>" for c in row) + "</tr>" for row in table.rows)
    return f'<table class="measured"><caption>{e(table.title)}</caption><tr>{head}</tr>{rows}</table>'


def _item(item: Item, tables: list[Table]) -> str:
    e = _e
    info = item.info
    lines = [
        f'<li class="item {_CLASSES[item.status]}"><span class="badge">{e(item.status.value)}</span> '
        f'<a href="{e(docs_url(info.id))}"><code>{e(info.id)}</code></a> {e(info.title)} '
        f'<span class="meta">({e(info.severity.value)})</span>'
    ]
    sub: list[str] = []
    for f in item.findings:
        accepted = f' <span class="label">accepted:</span> {e(f.suppression)}' if f.suppression else ""
        sub.append(f"<li>{e(f.severity.value)} at <code>{e(f.location)}</code>: {e(f.detail)}{accepted}</li>")
    if item.status is ItemStatus.FAILED:
        sub.append(f'<li><span class="label">Fix:</span> {e(item.findings[0].remediation)}</li>')
    sub += [f'<li><span class="label">Why:</span> {e(reason)}</li>' for reason in item.reasons]
    if item.unlock:
        sub.append(f'<li><span class="label">To run it:</span> {e(item.unlock)}</li>')
    if item.status is ItemStatus.PASSED or (item.status is ItemStatus.NOT_RUN and not sub):
        sub.append(f"<li>{e(info.summary)}</li>")
    if sub:
        lines += ['<ul class="sub">', *sub, "</ul>"]
    lines += [_table(t) for t in tables]
    lines.append("</li>")
    return "\n".join(lines)


def _e(text: str) -> str:
    return escape(printable(text), quote=True)
