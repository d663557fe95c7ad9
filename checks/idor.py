"""Object-level authorization with two (or more) real accounts: can one read, walk to, or change the
other's records by changing an id in the URL?

One shared pass (the *matrix*, memoised as `idor:matrix`) feeds `idor.cross-account-read`,
`idor.enumerable`, `auth.unauthenticated-access` and `auth.missing-role-check`:

1. every account logs in (once per run, see `probe.accounts`);
2. each `[[resources]]` entry yields its owner's ids (configured, or from the owner's own `list`
   request) and the owner's own view of each record: the baseline a leak is compared against;
3. the other accounts, no account at all, and (for `role = "admin"` resources) accounts without the
   role request the same records; the first other account also walks neighbouring integer ids;
4. bodies are compared, not status codes: a response *carries the owner's record* when it is the
   owner's own view, or shares at least two of the owner's values that the other account's own data
   and a request for a missing id do not have. An empty list, a generic page, a login redirect or
   the other account's own data therefore never count; a 302 or 403 whose body holds the record does.

Each account's control request (its `control`, else the first resource's list request) is repeated
after every batch: when it stops succeeding, that batch's results are `error`, and the account sends
nothing more. Every step is bounded; the HTTP client's budget bounds the whole; what was not reached
is reported.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from probe.accounts import LoginFailed, parse_request_line
from probe.config import Section
from probe.context import CheckContext
from probe.http import BudgetExhausted, DeadlineReached, HttpError, Response
from probe.model import Result, Severity
from probe.parsing import json_path
from probe.registry import check

OWASP_BOLA = "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"
OWASP_IDOR = "https://cheatsheetseries.owasp.org/cheatsheets/Insecure_Direct_Object_Reference_Prevention_Cheat_Sheet.html"
OWASP_BFLA = "https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/"

MAX_IDS = 3  # records per resource tested across accounts
MAX_ANON_IDS = 2  # records per resource requested without credentials
WINDOW = 20  # neighbouring integer ids walked on each side of the known ones
MAX_WALK = 60  # ids walked per resource
MAX_LEAVES = 2000  # values read from one JSON body
BATCH = 16  # requests between two rounds of control requests
CONCURRENCY = 4  # matrix requests in flight
MAX_OPENAPI_ROUTES = 8  # extra templates taken from an OpenAPI document
MAX_HARVESTED = 3  # candidate ids tried per OpenAPI template
_PARAM = re.compile(r"\{([^{}/]+)\}")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ResourceSettings(Section):
    """`[[resources]]`: records of one owner at a path with `{id}` (or one record at a path without it)."""

    path: str = Field(description="/api/notes/{id}")
    owner: str
    name: str | None = None
    ids: tuple[str | int, ...] = ()
    list_request: str | None = Field(default=None, alias="list", description="'GET /api/notes', as the owner")
    ids_at: str = Field(default="[*].id", description="where the ids are in the list's JSON: [*].id, data.items[*].id")
    role: str | None = Field(default=None, description="'admin': only accounts with this role may read it")
    create: str | None = Field(default=None, description="'POST /api/notes': makes a fresh record (active mode)")
    create_json: dict[str, Any] = Field(default_factory=lambda: {"title": "probe test record", "body": "probe"})
    created_id_at: str = "id"
    write: bool = Field(default=False, description="opt in to idor.cross-account-write on records made by `create`")
    write_methods: tuple[str, ...] = ("PATCH", "DELETE")
    write_json: dict[str, Any] = Field(default_factory=lambda: {"title": "probe cross-account write"})

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value.count("{id}") > 1:
            raise ValueError(f"expected a path starting with / with at most one {{id}}, got {value!r}")
        return value

    @field_validator("list_request", "create")
    @classmethod
    def _request(cls, value: str | None) -> str | None:
        if value is not None:
            parse_request_line(value)
        return value

    @field_validator("write_methods")
    @classmethod
    def _methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(m.upper() for m in value)
        if not upper or any(m not in ("PATCH", "PUT", "DELETE", "POST") for m in upper):
            raise ValueError("write_methods takes PATCH, PUT, DELETE or POST")
        return upper

    @model_validator(mode="after")
    def _ids_for_template(self) -> ResourceSettings:
        if "{id}" in self.path and not (self.ids or self.list_request or self.create):
            raise ValueError(f"{self.path} has {{id}}: give ids, a list request, or a create request")
        return self

    @property
    def label(self) -> str:
        return self.name or self.path

    @property
    def templated(self) -> bool:
        return "{id}" in self.path

    def at(self, record_id: str | None) -> str:
        return self.path.replace("{id}", record_id or "")

    def surface_routes(self) -> list[str]:
        return [parse_request_line(r)[1] for r in (self.list_request, self.create) if r] + [self.path]


CONFIG_SECTIONS = {"resources": list[ResourceSettings]}


# --- judging bodies ---------------------------------------------------------------------------------


Leaf = tuple[str, str]


def leaves(document: Any) -> set[Leaf]:
    """(key, value) pairs of a JSON document's scalars, keyed by their nearest key name so that a record
    seen in a list and on its own page match. Booleans and nulls say nothing about whose record it is."""
    found: set[Leaf] = set()
    stack: list[tuple[str, Any]] = [("", document)]
    seen = 0
    while stack and seen < MAX_LEAVES:
        key, value = stack.pop()
        seen += 1
        if isinstance(value, dict):
            stack.extend((str(k), v) for k, v in list(value.items())[:MAX_LEAVES])
        elif isinstance(value, list):
            stack.extend((key, v) for v in value[:MAX_LEAVES])
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            found.add((key, str(value)))
    return found


def _strong(leaf: Leaf) -> bool:
    """A value unlikely to match by chance: not a small number, not a one-letter word."""
    value = leaf[1]
    return len(value) >= 4 or (not value.lstrip("-").isdigit() and len(value) >= 3)


def normalised(response: Response) -> str:
    doc = response.json()
    if doc is not None:
        return json.dumps(doc, sort_keys=True)
    return " ".join(response.text.split())


@dataclass(frozen=True)
class Match:
    """Why a response carries the owner's record."""

    how: str  # "identical" or "shared-values"
    shared_fields: tuple[str, ...]
    differing_fields: tuple[str, ...]


def carries_record(probe: Response, owner: Response, *, not_theirs: Iterable[Response] = (),
                   generic: Response | None = None) -> Match | None:
    """Does `probe` carry the owner's record (as the owner saw it in `owner`)? `not_theirs` are responses
    holding the prober's own data; `generic` is the answer for an id that does not exist."""
    body = normalised(probe)
    if not probe.body.strip() or (generic is not None and body == normalised(generic)):
        return None
    owner_doc, probe_doc = owner.json(), probe.json()
    if owner_doc is None:
        # Not JSON: only an identical, non-trivial page is evidence.
        same = body == normalised(owner) and len(body) >= 20
        return Match("identical", (), ()) if same else None
    excluded: set[Leaf] = set()
    for other in (*not_theirs, *((generic,) if generic is not None else ())):
        excluded |= leaves(other.json())
    distinctive = {leaf for leaf in leaves(owner_doc) - excluded if _strong(leaf)}
    if not distinctive:
        return None
    probe_leaves = leaves(probe_doc) if probe_doc is not None else set()
    shared = distinctive & probe_leaves if probe_doc is not None else {
        leaf for leaf in distinctive if len(leaf[1]) >= 6 and leaf[1] in probe.text}
    differing = {k for k, _ in distinctive} - {k for k, _ in shared}
    if body == normalised(owner):
        return Match("identical", tuple(sorted({k for k, _ in shared})), ())
    if len(shared) >= 2:
        return Match("shared-values", tuple(sorted({k for k, _ in shared})), tuple(sorted(differing)))
    return None


def names_record(probe: Response, record_id: str, generic: Response | None) -> bool:
    """A walked id's answer is a record when it succeeds, differs from a missing id's answer and names the id."""
    if not 200 <= probe.status < 300 or (generic is not None and normalised(probe) == normalised(generic)):
        return False
    return any(key in ("id", "uuid", "pk") and value == record_id for key, value in leaves(probe.json()))


def is_integer_id(value: str) -> bool:
    return value.isdigit() and len(value) < 16


def missing_id(known: Sequence[str]) -> str:
    """An id of the same shape as the known ones that almost surely does not exist."""
    if known and all(is_integer_id(k) for k in known):
        return str(max(int(k) for k in known) + 7_000_000)
    if known and all(_UUID.match(k) for k in known):
        return str(uuid.uuid4())
    return "probe-missing-" + secrets.token_hex(6)


# --- the matrix -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one planned request got: a response, or why there is none. `untrusted`: the actor's session
    was lost around it, so a refusal may mean "logged out" rather than "not allowed"."""

    response: Response | None = None
    problem: str | None = None
    untrusted: bool = False


@dataclass
class Record:
    """One record under test: the owner's own view is the baseline."""

    resource: ResourceSettings
    record_id: str | None
    owner_view: Response

    @property
    def path(self) -> str:
        return self.resource.at(self.record_id)


@dataclass
class Prepared:
    """A resource ready to be tested, or the reason it cannot be."""

    resource: ResourceSettings
    records: list[Record] = field(default_factory=list)
    owner_ids: list[str] = field(default_factory=list)
    own_ids: dict[str, list[str]] = field(default_factory=dict)  # other account → its own ids here
    own_views: dict[str, list[Response]] = field(default_factory=dict)  # other account → its own data
    generic: Response | None = None
    walk: bool = True
    problem: str | None = None  # an error: the resource could not be prepared
    unusable: str | None = None  # a skip: nothing to test (no ids, owner cannot read them)


Key = tuple[str | None, str]  # (account or None for no credentials, path)


@dataclass
class Matrix:
    prepared: list[Prepared]
    outcomes: dict[Key, Outcome]
    login_errors: dict[str, str]
    no_control: tuple[str, ...]
    unreached: dict[Key, str]

    def outcome(self, actor: str | None, path: str) -> Outcome:
        if (actor, path) in self.unreached:
            return Outcome(problem=self.unreached[(actor, path)])
        return self.outcomes.get((actor, path), Outcome(problem="not planned"))


async def _get(ctx: CheckContext, actor: str | None, path: str, method: str = "GET") -> Response:
    # The matrix is idor's pass even when an auth check happens to start it: count it there.
    http = ctx.http.for_family("idor")
    if actor is None:
        return await http.request(method, path, follow_redirects=False)
    return await ctx.accounts.request(http, actor, method, path, follow_redirects=False)


async def _list(ctx: CheckContext, actor: str, method: str, path: str) -> Response:
    # Resources often share a list (/api/notes feeds /api/notes/{id} and /api/notes/{id}/export): ask once per account.
    return await ctx.memo.get(f"idor:list:{actor}:{method} {path}", lambda: _get(ctx, actor, path, method))


async def _prepare(ctx: CheckContext, resource: ResourceSettings, login_errors: dict[str, str],
                   baselines: dict[str, Response]) -> Prepared:
    # Each account's control answer (its whoami, its own list) is its own data: never a leak when seen again.
    prepared = Prepared(resource, own_views={n: [r] for n, r in baselines.items() if n != resource.owner})
    owner = resource.owner
    if owner not in ctx.accounts.names:
        prepared.problem = f"owner {owner!r} is not an [accounts.{owner}] entry"
        return prepared
    if owner in login_errors:
        prepared.problem = login_errors[owner]
        return prepared
    if resource.role and ctx.accounts.role(owner) != resource.role:
        prepared.problem = f"owner {owner!r} must have role = {resource.role!r} to show what the route holds"
        return prepared
    ids = [str(i) for i in resource.ids]
    if resource.list_request:
        method, path = parse_request_line(resource.list_request)
        listed = await _list(ctx, owner, method, path)
        if not 200 <= listed.status < 300 or listed.json() is None:
            prepared.problem = f"{owner}'s own list {method} {path} answered {listed.status} without JSON"
            return prepared
        ids += [str(v) for v in json_path(listed.json(), resource.ids_at) if isinstance(v, (str, int))]
        for other in (n for n in ctx.accounts.names if n != owner and n not in login_errors):
            theirs = await _list(ctx, other, method, path)
            if 200 <= theirs.status < 300:
                prepared.own_views.setdefault(other, []).append(theirs)
                prepared.own_ids[other] = [str(v) for v in json_path(theirs.json(), resource.ids_at)
                                           if isinstance(v, (str, int))]
    prepared.owner_ids = list(dict.fromkeys(ids))
    if resource.templated and not prepared.owner_ids:
        prepared.unusable = f"no ids for {owner}: the list found none at {resource.ids_at}" if resource.list_request \
            else f"no ids for {owner}"
        return prepared
    refused: list[str] = []
    for record_id in (prepared.owner_ids[:MAX_IDS] if resource.templated else [None]):
        view = await _get(ctx, owner, resource.at(record_id))
        if 200 <= view.status < 300:
            prepared.records.append(Record(resource, record_id, view))
        else:
            refused.append(f"{resource.at(record_id)} → {view.status}")
    if not prepared.records:
        prepared.unusable = f"{owner} cannot read its own records ({'; '.join(refused)})"
        return prepared
    walker = next(iter(others_of(ctx, owner, login_errors)), None)
    if resource.templated and walker is not None:
        prepared.generic = await _get(ctx, walker, resource.at(missing_id(prepared.owner_ids)))
    return prepared


async def _openapi_resources(ctx: CheckContext, prepared: list[Prepared], baselines: dict[str, Response],
                             login_errors: dict[str, str]) -> list[Prepared]:
    """GET routes of a served OpenAPI document with one path parameter, not configured already, tried with ids
    harvested from the owner's own answers; those the owner can read join the matrix (without the walk)."""
    ready = [p for p in prepared if p.records]
    doc = await ctx.surface.openapi() if ready else None
    if not doc:
        return []
    owner = ready[0].resource.owner
    configured = {_PARAM.sub("{id}", p.resource.path) for p in prepared}
    answers = [baselines[owner]] if owner in baselines else []
    answers += [r.owner_view for p in ready if p.resource.owner == owner for r in p.records]
    found: list[Prepared] = []
    servers = doc.get("servers")
    first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
    base = urlsplit(str(first.get("url", ""))).path.rstrip("/")
    for route, operations in list(doc["paths"].items())[:200]:
        params = _PARAM.findall(route) if isinstance(route, str) else []
        if len(params) != 1 or not isinstance(operations, dict) or "get" not in operations:
            continue
        path = base + _PARAM.sub("{id}", route)
        if path in configured or len(found) >= MAX_OPENAPI_ROUTES:
            continue
        ids = harvest(answers, params[0])
        if not ids:
            continue
        resource = ResourceSettings(path=path, owner=owner, ids=tuple(ids), name=f"{path} (from the OpenAPI document)")
        candidate = await _prepare(ctx, resource, login_errors, baselines)
        candidate.walk = False  # harvested ids may not even be this route's kind of id: no walk around them
        if candidate.records:
            found.append(candidate)
    return found


def harvest(answers: Iterable[Response], param: str) -> list[str]:
    """Values the owner's own answers hold under the parameter's name, else under `id`: bounded."""
    pairs = [leaf for answer in answers for leaf in sorted(leaves(answer.json()))]
    named = [v for k, v in pairs if k == param] or [v for k, v in pairs if k == "id"]
    return list(dict.fromkeys(named))[:MAX_HARVESTED]


def others_of(ctx: CheckContext, owner: str, login_errors: dict[str, str]) -> list[str]:
    return [n for n in ctx.accounts.names if n != owner and n not in login_errors]


def walk_ids(prepared: Prepared, walker: str) -> list[str]:
    """Neighbouring integer ids around the owner's known ones, minus the walker's own; bounded."""
    known = [int(i) for i in prepared.owner_ids if is_integer_id(i)]
    mine = set(prepared.own_ids.get(walker, []))
    window: set[int] = set()
    for base in known:
        window.update(range(max(0, base - WINDOW), base + WINDOW + 1))
    return [str(i) for i in sorted(window) if str(i) not in mine][:MAX_WALK]


def plan(ctx: CheckContext, prepared: list[Prepared], login_errors: dict[str, str]) -> list[Key]:
    """Every request of the matrix once, in an order that tests every resource early."""
    keys: list[Key] = []
    for p in prepared:
        if p.problem or p.unusable:
            continue
        resource, owner = p.resource, p.resource.owner
        actors = others_of(ctx, owner, login_errors)
        if resource.role:
            actors = [a for a in actors if ctx.accounts.role(a) != resource.role]
        keys += [(actor, r.path) for r in p.records for actor in actors]
        keys += [(None, r.path) for r in p.records[:MAX_ANON_IDS]]
    for p in prepared:
        if p.problem or p.unusable or p.resource.role or not p.resource.templated or not p.walk:
            continue
        walker = next(iter(others_of(ctx, p.resource.owner, login_errors)), None)
        if walker is not None:
            keys += [(walker, p.resource.at(i)) for i in walk_ids(p, walker)]
    return list(dict.fromkeys(keys))


def control_line(ctx: CheckContext, name: str) -> str | None:
    configured = ctx.accounts.settings(name).control
    if configured:
        return configured
    resources: list[ResourceSettings] = ctx.section("resources")
    return next((r.list_request for r in resources if r.list_request), None)


async def _control(ctx: CheckContext, name: str, line: str) -> Response | None:
    """The control request's answer when it succeeds; None when the account's session no longer works."""
    method, path = parse_request_line(line)
    try:
        response = await _get(ctx, name, path, method)
    except LoginFailed:
        return None
    return response if 200 <= response.status < 300 else None


async def build_matrix(ctx: CheckContext) -> Matrix:
    login_errors: dict[str, str] = {}
    for name in ctx.accounts.names:
        try:
            await ctx.accounts.session(name)
        except LoginFailed as exc:
            login_errors[name] = str(exc)
    controls: dict[str, str] = {}
    baselines: dict[str, Response] = {}
    for name in ctx.accounts.names:
        line = control_line(ctx, name)
        if name in login_errors or line is None:
            continue
        baseline = await _control(ctx, name, line)
        if baseline is not None:
            controls[name] = line
            baselines[name] = baseline
        else:
            login_errors[name] = f"account {name!r}: its control request {line} did not succeed before the matrix"
    resources: list[ResourceSettings] = ctx.section("resources")
    prepared: list[Prepared] = []
    unreached: dict[Key, str] = {}
    budget_gone: str | None = None
    for resource in resources:
        if budget_gone:
            prepared.append(Prepared(resource, problem=budget_gone))
            continue
        try:
            prepared.append(await _prepare(ctx, resource, login_errors, baselines))
        except (BudgetExhausted, DeadlineReached) as exc:
            budget_gone = f"not reached: {exc}"
            prepared.append(Prepared(resource, problem=budget_gone))
        except HttpError as exc:
            prepared.append(Prepared(resource, problem=str(exc)))
    if not budget_gone:
        try:
            prepared += await _openapi_resources(ctx, prepared, baselines, login_errors)
        except (BudgetExhausted, DeadlineReached) as exc:
            budget_gone = f"not reached: {exc}"
    keys = plan(ctx, prepared, login_errors)
    outcomes: dict[Key, Outcome] = {}
    lost: dict[str, str] = {}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(key: Key) -> None:
        nonlocal budget_gone
        actor, path = key
        if budget_gone or (actor is not None and actor in lost):
            unreached[key] = budget_gone or lost[actor or ""]
            return
        async with gate:
            try:
                outcomes[key] = Outcome(response=await _get(ctx, actor, path))
            except (BudgetExhausted, DeadlineReached) as exc:
                budget_gone = f"not reached: {exc}"
                unreached[key] = budget_gone
            except HttpError as exc:
                outcomes[key] = Outcome(problem=str(exc))

    for start in range(0, len(keys), BATCH):
        batch = keys[start:start + BATCH]
        await asyncio.gather(*(send(k) for k in batch))
        if budget_gone:
            continue
        for name in dict.fromkeys(a for a, _ in batch if a is not None and a in controls and a not in lost):
            try:
                still = await _control(ctx, name, controls[name]) is not None
            except (BudgetExhausted, DeadlineReached) as exc:
                budget_gone = f"not reached: {exc}"
                break
            if not still:
                lost[name] = f"{name}'s session was lost (control request {controls[name]} stopped succeeding)"
                for key in batch:
                    if key[0] == name and key in outcomes:
                        outcomes[key] = Outcome(outcomes[key].response, lost[name], untrusted=True)
    no_control = tuple(n for n in ctx.accounts.names if n not in controls and n not in login_errors)
    return Matrix(prepared, outcomes, login_errors, no_control, unreached)


async def matrix(ctx: CheckContext) -> Matrix:
    return await ctx.memo.get("idor:matrix", lambda: build_matrix(ctx))


def preconditions(ctx: CheckContext, *, accounts_needed: int) -> Result | None:
    """A skip when the configuration cannot unlock this check."""
    resources: list[ResourceSettings] = ctx.section("resources")
    if not resources:
        return ctx.skip(ctx.location, "needs [[resources]] (a path with {id}, its owner, and ids or a list request) "
                                      "and [accounts.*]; see docs/authorization.md")
    if len(ctx.accounts) < accounts_needed:
        return ctx.skip(ctx.location, f"needs {accounts_needed} accounts: add [accounts.NAME] entries "
                                      "(see docs/authorization.md)")
    return None


def resource_status(ctx: CheckContext, p: Prepared) -> Result | None:
    location = ctx.http.url(p.resource.path)
    if p.problem:
        return ctx.error(location, f"{p.resource.label}: {p.problem}")
    if p.unusable:
        return ctx.skip(location, f"{p.resource.label}: {p.unusable}")
    return None


def pair_evidence(owner: Response, probe: Response, match: Match) -> dict[str, Any]:
    return {
        "owner_request": owner.evidence(max_chars=200),
        "other_request": probe.evidence(max_chars=200),
        "statuses": {"owner": owner.status, "other": probe.status},
        "comparison": match.how,
        "identical_fields": list(match.shared_fields),
        "differing_fields": list(match.differing_fields),
    }


def unsure(ctx: CheckContext, location: str, label: str, m: Matrix, outcomes: list[tuple[str, Outcome]],
           tested: int) -> Result | None:
    """An error naming what could not be trusted or reached, when nothing leaked but not everything was tested."""
    problems = [f"{who}: {o.problem}" for who, o in outcomes if o.problem]
    if not problems:
        return None
    shown = "; ".join(dict.fromkeys(problems))
    return ctx.error(location, f"{label}: {len(problems)} of {len(outcomes)} requests could not be judged "
                               f"({tested} judged): {shown}")


def login_note(m: Matrix) -> str:
    parts = [*(m.login_errors.values())]
    if m.no_control:
        parts.append(f"no control request for {', '.join(m.no_control)} (set control = 'GET /api/me'): "
                     "a lost session would go unnoticed")
    return (" Note: " + "; ".join(parts)) if parts else ""


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
async def cross_account_read(ctx: CheckContext) -> list[Result]:
    skipped = preconditions(ctx, accounts_needed=2)
    if skipped:
        return [skipped]
    m = await matrix(ctx)
    results: list[Result] = []
    # Role resources are auth.missing-role-check's; a path without {id} has no other account's version to ask for.
    for p in (p for p in m.prepared if not p.resource.role and p.resource.templated):
        status = resource_status(ctx, p)
        if status:
            results.append(status)
            continue
        results.append(_judge_cross(ctx, p, m))
    return results or [ctx.skip(ctx.location, "no [[resources]] entry with {id} and without role: add one to test "
                                              "access across accounts")]


def _judge_cross(ctx: CheckContext, p: Prepared, m: Matrix) -> Result:
    location = ctx.http.url(p.resource.path)
    actors = others_of(ctx, p.resource.owner, m.login_errors)
    if not actors:
        return ctx.error(location, f"{p.resource.label}: no other account could log in.{login_note(m)}")
    leaks: list[tuple[Record, str, Response, Match]] = []
    seen: list[tuple[str, Outcome]] = []
    for record in p.records:
        for actor in actors:
            outcome = m.outcome(actor, record.path)
            seen.append((actor, outcome))
            if outcome.response is None:
                continue
            match = carries_record(outcome.response, record.owner_view, not_theirs=p.own_views.get(actor, ()),
                                   generic=p.generic)
            if match:
                leaks.append((record, actor, outcome.response, match))
    if leaks:
        record, actor, response, match = leaks[0]
        ids = sorted({f"{a} read {r.record_id}" for r, a, _, _ in leaks})
        return ctx.fail(location, f"{actor} got {p.resource.owner}'s record {record.path} back "
                                  f"({response.status}, {match.how.replace('-', ' ')}); {len(leaks)} leak(s): "
                                  f"{', '.join(ids)}.",
                        kind="cross-account-read", evidence=pair_evidence(record.owner_view, response, match))
    tested = sum(1 for _, o in seen if o.response is not None and not o.untrusted)
    doubtful = unsure(ctx, location, p.resource.label, m, seen, tested)
    if doubtful:
        return doubtful
    statuses = sorted({str(o.response.status) for _, o in seen if o.response is not None})
    return ctx.passed(location, f"{', '.join(actors)} requested {len(p.records)} of {p.resource.owner}'s records; "
                                f"none came back (statuses {', '.join(statuses)}).{login_note(m)}")


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
async def enumerable(ctx: CheckContext) -> list[Result]:
    skipped = preconditions(ctx, accounts_needed=2)
    if skipped:
        return [skipped]
    m = await matrix(ctx)
    results: list[Result] = []
    for p in (p for p in m.prepared if p.walk and p.resource.templated and not p.resource.role):
        status = resource_status(ctx, p)
        results.append(status or _judge_walk(ctx, p, m))
    return results or [ctx.skip(ctx.location, "no [[resources]] path with {id} to walk")]


def _judge_walk(ctx: CheckContext, p: Prepared, m: Matrix) -> Result:
    location = ctx.http.url(p.resource.path)
    walker = next(iter(others_of(ctx, p.resource.owner, m.login_errors)), None)
    if walker is None:
        return ctx.error(location, f"{p.resource.label}: no other account could log in.{login_note(m)}")
    if not any(is_integer_id(i) for i in p.owner_ids):
        return ctx.passed(location, f"{p.resource.label}: ids are opaque (e.g. UUIDs), so there is nothing to walk; "
                                    "access to known ids across accounts is idor.cross-account-read's test.",
                          severity=Severity.INFO)
    views = {r.record_id: r for r in p.records}
    walked = walk_ids(p, walker)
    readable: list[tuple[str, Response]] = []
    seen: list[tuple[str, Outcome]] = []
    for record_id in walked:
        outcome = m.outcome(walker, p.resource.at(record_id))
        seen.append((walker, outcome))
        if outcome.response is None:
            continue
        record = views.get(record_id)
        if record is not None:
            hit = carries_record(outcome.response, record.owner_view, not_theirs=p.own_views.get(walker, ()),
                                 generic=p.generic) is not None
        else:
            mine = p.own_views.get(walker, [])
            hit = names_record(outcome.response, record_id, p.generic) and not any(
                carries_record(outcome.response, own, generic=p.generic) for own in mine)
        if hit:
            readable.append((record_id, outcome.response))
    if readable:
        ids = [i for i, _ in readable]
        return ctx.fail(location, f"{walker} walked {len(walked)} neighbouring ids and read {len(readable)} records "
                                  f"that are not its own (ids {', '.join(ids[:10])}{'…' if len(ids) > 10 else ''}).",
                        kind="enumerable", evidence={"walker": walker, "walked": len(walked), "readable_ids": ids[:20],
                                                     "example": readable[0][1].evidence(max_chars=200)})
    tested = sum(1 for _, o in seen if o.response is not None and not o.untrusted)
    doubtful = unsure(ctx, location, p.resource.label, m, seen, tested)
    if doubtful:
        return doubtful
    return ctx.passed(location, f"{walker} walked {len(walked)} neighbouring ids and read no record that is not its "
                                f"own.{login_note(m)}")


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
async def cross_account_write(ctx: CheckContext) -> list[Result]:
    skipped = preconditions(ctx, accounts_needed=2)
    if skipped:
        return [skipped]
    opted = [r for r in ctx.section("resources") if r.write]
    if not opted:
        return [ctx.skip(ctx.location, "writes are opt-in per resource: set write = true and create = 'POST ...' on a "
                                       "[[resources]] entry, against a staging target")]
    # The read matrix runs first, so the record made here never shows up in it (or vanishes under it).
    await matrix(ctx)
    results: list[Result] = []
    for resource in opted:
        location = ctx.http.url(resource.path)
        if not resource.create or not resource.templated:
            results.append(ctx.skip(location, f"{resource.label}: needs create = 'POST ...' and a path with {{id}}: "
                                              "writes only ever touch a record made in this run"))
        else:
            results.append(await _write_trial(ctx, resource))
    return results


async def _write_trial(ctx: CheckContext, resource: ResourceSettings) -> Result:
    location = ctx.http.url(resource.path)
    owner = resource.owner
    if owner not in ctx.accounts.names:
        return ctx.error(location, f"{resource.label}: owner {owner!r} is not an [accounts.{owner}] entry")
    try:
        await ctx.accounts.session(owner)
    except LoginFailed as exc:
        return ctx.error(location, f"{resource.label}: {exc}")
    actor = None
    for name in ctx.accounts.names:
        if name == owner:
            continue
        try:
            await ctx.accounts.session(name)
            actor = name
            break
        except LoginFailed:
            continue
    if actor is None:
        return ctx.error(location, f"{resource.label}: no other account could log in")
    method, path = parse_request_line(resource.create or "")
    made = await ctx.accounts.request(ctx.http, owner, method, path, json=resource.create_json, follow_redirects=False)
    found = json_path(made.json(), resource.created_id_at)
    if not 200 <= made.status < 300 or not found or not isinstance(found[0], (str, int)):
        return ctx.error(location, f"{resource.label}: {owner}'s create {method} {path} answered {made.status} "
                                   f"without an id at {resource.created_id_at}", evidence=made.evidence(max_chars=200))
    record_path = resource.at(str(found[0]))
    trials: list[WriteTrial] = []
    try:
        before = await _get(ctx, owner, record_path)
        if not 200 <= before.status < 300:
            return ctx.error(location, f"{resource.label}: {owner} cannot read the record it just made "
                                       f"({record_path} → {before.status})")
        for write in resource.write_methods:
            body = None if write == "DELETE" else resource.write_json
            try:
                sent = await ctx.accounts.request(ctx.http, actor, write, record_path, json=body, follow_redirects=False)
                after = await _get(ctx, owner, record_path)
            except (BudgetExhausted, DeadlineReached):
                raise
            except HttpError as exc:
                trials.append(WriteTrial(write, None, False, str(exc)))
                continue
            trials.append(WriteTrial(write, sent, _changed(write, resource.write_json, before, after)))
            if trials[-1].changed:
                break
    finally:
        cleanup = await _clean_up(ctx, owner, record_path)
    written = next((t for t in trials if t.changed), None)
    evidence: dict[str, Any] = {"record": record_path, "created_by": owner, "written_by": actor, "cleanup": cleanup,
                                "attempts": {t.method: (t.response.status if t.response else t.problem) for t in trials}}
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
    marks = {value for _, value in leaves(written) if _strong((_, value))}
    fresh = {value for _, value in leaves(after.json())} - {value for _, value in leaves(before.json())}
    return bool(marks & fresh) or any(m in after.text and m not in before.text for m in marks)


async def _clean_up(ctx: CheckContext, owner: str, record_path: str) -> str:
    try:
        gone = await ctx.accounts.request(ctx.http, owner, "DELETE", record_path, follow_redirects=False)
    except HttpError as exc:
        return f"DELETE {record_path} as {owner} failed ({exc}): remove it by hand"
    if gone.status < 300 or gone.status in (404, 410):
        return f"deleted {record_path} as {owner}" if gone.status < 300 else f"{record_path} was already gone"
    return f"DELETE {record_path} as {owner} answered {gone.status}: remove it by hand"

