"""Object-level authorization with two (or more) real accounts: can one read, walk to, or change the other's
records by changing an id in the URL? The reads are judged on the shared authorization matrix
(`probe.checks.idor.matrix`); the write check makes its own record, tries, and deletes it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from probe.accounts import LoginFailed, parse_request_line
from probe.checks.idor.matrix import (
    RESOURCES,
    Matrix,
    ResourceSettings,
    Tested,
    by_design,
    how,
    is_strong,
    list_rows,
    login_note,
    matrix,
    others_of,
    pair_evidence,
    readers,
    request_as,
    resource_status,
    unsure,
)
from probe.context import CheckContext
from probe.guards import accounts, needs
from probe.http import BudgetExhausted, DeadlineReached, HttpError, Response
from probe.model import Result, Severity
from probe.parsing import json_path, leaves
from probe.registry import Family, check

FAMILY = Family(
    group="authorization",
    unlock="add two [accounts.NAME] (with [login]) and [[resources]] with a path containing {id} to test IDOR",
)

OWASP_BOLA = "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"
OWASP_IDOR = "https://cheatsheetseries.owasp.org/cheatsheets/Insecure_Direct_Object_Reference_Prevention_Cheat_Sheet.html"
OWASP_BFLA = "https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/"

CONFIG_SECTIONS = {"resources": list[ResourceSettings]}


# --- the checks -------------------------------------------------------------------------------------


@check(
    id="idor.cross-account-read",
    title="One account cannot read another account's records",
    severity=Severity.CRITICAL,
    cwe=639,
    summary="With two accounts, B requests A's records by id; B must not get A's data back.",
    risk="Changing a number in a URL is the first thing a curious user tries: if the API looks records up by id "
    "without checking who owns them, every customer's data is one loop away from whoever tries.",
    fix="Scope every lookup by the logged-in user (`Note.objects.get(id=id, owner=request.user)`, "
    "`Note.query.filter_by(id=id, user_id=current_user.id).first_or_404()`, `where: { id, userId: session.user.id }`); "
    "Django REST: filter get_queryset() by request.user or add an object permission; Rails: current_user.notes.find(id); "
    "Supabase/Postgres: row-level security policies.",
    references=(OWASP_BOLA, OWASP_IDOR),
)
@needs(RESOURCES, accounts(2))
async def cross_account_read(ctx: CheckContext) -> list[Result]:
    m = await matrix(ctx)
    # Role resources are auth.missing-role-check's; a path without {id} has no other account's version to ask for.
    results = [resource_status(ctx, t) or _judge_cross(ctx, t, m)
               for t in m.tested if not t.resource.role and t.resource.templated]
    return results or [ctx.skip(ctx.location, "no [[resources]] entry with {id} and without role: add one to test "
                                              "access across accounts")]


def _judge_cross(ctx: CheckContext, t: Tested, m: Matrix) -> Result:
    location, owner, label = ctx.http.url(t.resource.path), t.resource.owner, t.resource.label
    if t.anonymous.leaks:
        return ctx.skip(location, f"{label}: readable with no credentials at all ({t.anonymous.leaks[0].path}): one "
                                  "root cause, reported once by auth.unauthenticated-access.")
    actors = readers(ctx, t.resource, m.unavailable)
    note = by_design(ctx, t.resource, m.unavailable)
    if not actors:
        report = ctx.error if any(a in m.login_errors for a in others_of(ctx, owner, {})) else ctx.skip
        return report(location, f"{label}: no other account whose reads would be a leak could take part.{note}"
                                f"{login_note(m)}")
    evidence_notes = {"owner_list": list(t.notes)} if t.notes else {}
    leaks = t.across.leaks
    if leaks:
        ids = sorted({f"{o.who} read {o.record_id}" for o in leaks})
        return ctx.fail(location, f"{leaks[0].who} got {owner}'s record {leaks[0].path} back ({how(leaks[0])}); "
                                  f"{len(leaks)} leak(s): {', '.join(ids)}.{_notes(t)}",
                        kind="cross-account-read", evidence={**pair_evidence(leaks[0]), **evidence_notes})
    return unsure(ctx, location, label, t.across) or ctx.passed(
        location, f"{', '.join(actors)} requested {t.records} of {owner}'s records; none came back "
                  f"(statuses {t.across.statuses}).{note}{_notes(t)}{login_note(m)}",
        evidence=evidence_notes or None)


def _notes(t: Tested) -> str:
    return "".join(f" {note}." for note in t.notes)


@check(
    id="idor.enumerable",
    title="Records cannot be found by walking neighbouring ids",
    severity=Severity.HIGH,
    cwe=639,
    summary="From the ids it knows, B walks neighbouring integer ids (±20) and counts records it can read that are "
    "not its own.",
    risk="Sequential ids tell an attacker where every other record is: a loop from 1 to N downloads the whole table "
    "when ownership is not checked, and reveals how many customers and orders you have even when it is.",
    fix="Check ownership on every lookup (see idor.cross-account-read) and expose opaque identifiers (UUIDv4, "
    "random slugs, hashids) instead of database sequence numbers in URLs.",
    references=(OWASP_BOLA, OWASP_IDOR),
)
@needs(RESOURCES, accounts(2))
async def enumerable(ctx: CheckContext) -> list[Result]:
    m = await matrix(ctx)
    results = [resource_status(ctx, t) or _judge_walk(ctx, t, m)
               for t in m.tested if t.walk and t.resource.templated and not t.resource.role]
    return results or [ctx.skip(ctx.location, "no [[resources]] path with {id} to walk")]


def _judge_walk(ctx: CheckContext, t: Tested, m: Matrix) -> Result:
    location, label = ctx.http.url(t.resource.path), t.resource.label
    if t.anonymous.leaks:
        return ctx.skip(location, f"{label}: readable with no credentials at all ({t.anonymous.leaks[0].path}): one "
                                  "root cause, reported once by auth.unauthenticated-access.")
    walker = next(iter(readers(ctx, t.resource, m.unavailable)), None)
    if walker is None:
        report = ctx.error if any(a in m.login_errors for a in others_of(ctx, t.resource.owner, {})) else ctx.skip
        return report(location, f"{label}: no other account whose reads would be a leak could walk the ids."
                                f"{by_design(ctx, t.resource, m.unavailable)}{login_note(m)}")
    if not t.integer_ids:
        return ctx.passed(location, f"{label}: ids are opaque (e.g. UUIDs), so there is nothing to walk; "
                                    "access to known ids across accounts is idor.cross-account-read's test.",
                          severity=Severity.INFO)
    if t.walked_with:
        return ctx.skip(location, f"{label}: its ids are {t.walked_with}'s, walked there once; whether this route "
                                  "shows them to another account is idor.cross-account-read's test here.")
    readable, walked = t.walked.leaks, t.walked.sent
    if readable:
        ids = [str(o.record_id) for o in readable]
        return ctx.fail(location, f"{walker} walked {walked} neighbouring ids and read {len(readable)} records "
                                  f"that are not its own (ids {', '.join(ids[:10])}{'…' if len(ids) > 10 else ''}).",
                        kind="enumerable", evidence={"walker": walker, "walked": walked, "readable_ids": ids[:20],
                                                     "example": readable[0].evidence})
    return unsure(ctx, location, label, t.walked) or ctx.passed(
        location, f"{walker} walked {walked} neighbouring ids and read no record that is not its own.{login_note(m)}")


# --- active: cross-account writes -------------------------------------------------------------------


@dataclass(frozen=True)
class WriteTrial:
    method: str
    response: Response | None
    changed: bool
    problem: str | None = None


@check(
    id="idor.cross-account-write",
    title="One account cannot change or delete another account's records",
    severity=Severity.CRITICAL,
    cwe=639,
    active=True,
    summary="On a record created for A in this run (opt-in per resource), B sends PATCH/PUT/DELETE; A's record "
    "must be unchanged. The record is deleted afterwards.",
    risk="If writes are not scoped to the owner, any user can alter or erase every other user's data by id: "
    "silent tampering, account takeover through changed e-mail addresses, or mass deletion.",
    fix="Apply the same owner-scoped lookup to update and delete handlers as to reads (get_object_or_404(Note, id=id, "
    "owner=request.user); `UPDATE ... WHERE id = ? AND user_id = ?` and check the affected row count; Django REST "
    "object permissions; Supabase RLS `using` and `with check` policies).",
    references=(OWASP_BOLA, OWASP_IDOR),
)
@needs(RESOURCES, accounts(2))
async def cross_account_write(ctx: CheckContext) -> list[Result]:
    opted = [r for r in ctx.sections(ResourceSettings) if r.write]
    if not opted:
        return [ctx.skip(ctx.location, "writes are opt-in per resource: set write = true and create = 'POST ...' on a "
                                       "[[resources]] entry, against a staging target")]
    # The read matrix runs first, so the record made here never shows up in it (or vanishes under it).
    m = await matrix(ctx)
    results: list[Result] = []
    for resource in opted:
        location = ctx.http.url(resource.path)
        if not resource.create or not resource.templated:
            results.append(ctx.skip(location, f"{resource.label}: needs create = 'POST ...' and a path with {{id}}: "
                                              "writes only ever touch a record made in this run"))
        else:
            results.append(await _write_trial(ctx, resource, m))
    return results


async def _write_trial(ctx: CheckContext, resource: ResourceSettings, m: Matrix) -> Result:
    location = ctx.http.url(resource.path)
    owner = resource.owner
    if owner not in ctx.accounts.names:
        return ctx.error(location, f"{resource.label}: owner {owner!r} is not an [accounts.{owner}] entry")
    try:
        await ctx.accounts.session(owner)
    except LoginFailed as exc:
        return ctx.error(location, f"{resource.label}: {exc}")
    actor = None
    # Only an account whose write would be a breach tries: not a privileged one, not one it is shared with.
    for name in readers(ctx, resource, m.set_aside):
        try:
            await ctx.accounts.session(name)
            actor = name
            break
        except LoginFailed:
            continue
    if actor is None:
        return ctx.error(location, f"{resource.label}: no other account whose write would be a breach could log in."
                                   f"{by_design(ctx, resource, m.set_aside)}{login_note(m)}")
    method, path = parse_request_line(resource.create or "")
    listed_before = await _listed_ids(ctx, resource)
    made = await ctx.accounts.request(ctx.http, owner, method, path, json=resource.create_json,
                                      headers=resource.headers, follow_redirects=False)
    if not 200 <= made.status < 300:
        return ctx.error(location, f"{resource.label}: {owner}'s create {method} {path} answered {made.status}",
                         evidence=made.evidence(max_chars=200))
    record_id, source = await _created_id(ctx, resource, made, listed_before)
    if record_id is None:
        left = {"check": ctx.info.id, "route": f"{method} {path}", "id": None}
        return ctx.error(location, f"{resource.label}: {owner}'s create {method} {path} answered {made.status}, but the new "
                                   f"record's id was not found ({source}), so it could not be tested or deleted: remove "
                                   f"it by hand ({owner}'s record created by {method} {path}).",
                         evidence={"create": made.evidence(max_chars=200), "left_behind": [left]})
    record_path = resource.at(record_id)
    trials: list[WriteTrial] = []
    try:
        before = await request_as(ctx, owner, record_path, headers=resource.headers)
        if not 200 <= before.status < 300:
            return ctx.error(location, f"{resource.label}: {owner} cannot read the record it just made "
                                       f"({record_path} → {before.status})")
        for write in resource.write_methods:
            body = None if write == "DELETE" else resource.write_json
            try:
                sent = await ctx.accounts.request(ctx.http, actor, write, record_path, json=body, headers=resource.headers,
                                                  follow_redirects=False)
                after = await request_as(ctx, owner, record_path, headers=resource.headers)
            except (BudgetExhausted, DeadlineReached):
                raise
            except HttpError as exc:
                trials.append(WriteTrial(write, None, False, str(exc)))
                continue
            trials.append(WriteTrial(write, sent, _changed(write, resource.write_json, before, after)))
            if trials[-1].changed:
                break
    finally:
        cleanup, gone = await _clean_up(ctx, owner, record_path, resource.headers)
    written = next((t for t in trials if t.changed), None)
    evidence: dict[str, Any] = {"record": record_path, "created_by": owner, "written_by": actor, "id_from": source,
                                "cleanup": cleanup,
                                "attempts": {t.method: (t.response.status if t.response else t.problem) for t in trials}}
    if not gone:
        evidence["left_behind"] = [{"check": ctx.info.id, "route": record_path, "id": record_id}]
    if written is not None and written.response is not None:
        evidence["write"] = written.response.evidence(max_chars=200)
        return ctx.fail(location, f"{actor}'s {written.method} changed {owner}'s record {record_path} "
                                  f"(answered {written.response.status}; {owner}'s view changed). Cleanup: {cleanup}.",
                        kind=f"cross-account-write:{written.method.lower()}", evidence=evidence)
    problems = [f"{t.method}: {t.problem}" for t in trials if t.problem]
    if problems:
        return ctx.error(location, f"{resource.label}: {'; '.join(problems)}", evidence=evidence)
    tried = ", ".join(f"{t.method} → {t.response.status}" for t in trials if t.response)
    return ctx.passed(location, f"{actor} tried {tried} on {owner}'s fresh record; it was unchanged. Cleanup: {cleanup}.",
                      evidence=evidence)


def _changed(method: str, written: dict[str, Any], before: Response, after: Response) -> bool:
    """Judged on the owner's own view: gone after a DELETE, or showing a value the other account wrote. A record
    that changes on every read (a view counter, a timestamp) is therefore not mistaken for a write."""
    if method == "DELETE":
        return not 200 <= after.status < 300
    marks = {value for _, value in leaves(written) if is_strong((_, value))}
    fresh = {value for _, value in leaves(after.json())} - {value for _, value in leaves(before.json())}
    return bool(marks & fresh) or any(m in after.text and m not in before.text for m in marks)


async def _clean_up(ctx: CheckContext, owner: str, record_path: str, headers: Mapping[str, str]) -> tuple[str, bool]:
    """What became of the record made for the test, and whether it is gone."""
    try:
        gone = await ctx.accounts.request(ctx.http, owner, "DELETE", record_path, headers=headers, follow_redirects=False)
    except HttpError as exc:
        return f"DELETE {record_path} as {owner} failed ({exc}): remove it by hand", False
    if gone.status < 300 or gone.status in (404, 410):
        return (f"deleted {record_path} as {owner}" if gone.status < 300 else f"{record_path} was already gone"), True
    return f"DELETE {record_path} as {owner} answered {gone.status}: remove it by hand", False


async def _listed_ids(ctx: CheckContext, resource: ResourceSettings) -> set[str] | None:
    """The ids in the owner's list now (its own rows when `owner_field` is set), or None without a usable list."""
    if not resource.list_request:
        return None
    method, path = parse_request_line(resource.list_request)
    answer = await ctx.accounts.request(ctx.http, resource.owner, method, path, headers=resource.headers,
                                        follow_redirects=False)
    if not 200 <= answer.status < 300 or answer.json() is None:
        return None
    return {rid for rid, _ in list_rows(answer.json(), resource.ids_at)}


async def _created_id(ctx: CheckContext, resource: ResourceSettings, made: Response,
                      before: set[str] | None) -> tuple[str | None, str]:
    """The new record's id, and where it was found: the create's body (`created_id_at`), its `Location` header
    (matched against the resource's path), or the one id the owner's list gained. None with what was tried."""
    found = json_path(made.json(), resource.created_id_at)
    if found and isinstance(found[0], (str, int)) and not isinstance(found[0], bool):
        return str(found[0]), f"the body at {resource.created_id_at}"
    location = made.headers.get("location")
    if location:
        pattern = re.escape(resource.path).replace(re.escape("{id}"), "([^/?#]+)")
        match = re.fullmatch(pattern, urlsplit(location).path.rstrip("/") or "/")
        if match:
            return unquote(match.group(1)), "the Location header"
    tried = f"not in the body at {resource.created_id_at}, " + (
        f"Location {location!r} does not match {resource.path}" if location else "no Location header")
    if before is None:
        return None, tried + ", no list to compare (set list = 'GET ...')"
    after = await _listed_ids(ctx, resource)
    fresh = sorted((after or set()) - before)
    if len(fresh) == 1:
        return fresh[0], f"the one new id in {resource.list_request}"
    return None, tried + f", {len(fresh)} new ids in {resource.list_request}"

