"""The authorization matrix: the shared engine of the idor checks and of `auth.unauthenticated-access` and
`auth.missing-role-check`. It registers no checks.

One shared pass (the *matrix*, memoised as `idor:matrix`) feeds `idor.cross-account-read`,
`idor.enumerable`, `auth.unauthenticated-access` and `auth.missing-role-check`:

1. every account logs in (once per run, see `probe.accounts`); its control request must succeed with
   its credentials and be refused without: an account whose control answers anyone is set aside;
2. each `[[resources]]` entry yields its owner's ids (configured, or from the owner's own `list`
   request: the rows its `owner_field` names as the owner's, else the rows no reader lists too) and the
   owner's own view of each record: the baseline a leak is compared against;
3. the *readers* request the same records: the other accounts, except those the records are
   `shared_with` and the privileged ones (any role but the default), or, for `role = "admin"`
   resources, the accounts without the role; no account at all does too. The first reader also walks
   neighbouring integer ids, once per id space (resources whose ids come from the same list share one
   walk);
4. bodies are compared, not status codes: a response *carries the owner's record* when it is the
   owner's own view, or shares at least two of the owner's values that the other account's own data
   and a request for a missing id do not have. An empty list, a generic page, a login redirect or
   the other account's own data therefore never count; a 302 or 403 whose body holds the record does.

Each account's control request (its `control`, else the first resource's list request) is repeated
after every batch: when it stops succeeding, that batch's results are `error`, and the account sends
nothing more. Every step is bounded; the HTTP client's budget bounds the whole; what was not reached
is reported. Resources stream through the matrix a unit at a time (see "the matrix" below), so its
memory does not grow with their number.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from probe.accounts import LoginFailed, parse_request_line
from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.guards import Guard
from probe.http import BudgetExhausted, DeadlineReached, HttpError, Response
from probe.model import Result
from probe.parsing import Leaf, json_path, leaves

MAX_IDS = 3  # records per resource tested across accounts
MAX_ANON_IDS = 2  # records per resource requested without credentials
WINDOW = 20  # neighbouring integer ids walked on each side of the known ones
MAX_WALK = 60  # ids walked per resource
BATCH = 16  # requests between two rounds of control requests
CONCURRENCY = 4  # matrix requests in flight
MAX_OPENAPI_ROUTES = 8  # extra templates taken from an OpenAPI document
MAX_HARVESTED = 3  # candidate ids tried per OpenAPI template
_PARAM = re.compile(r"\{([^{}/]+)\}")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ResourceSettings(Section):
    """`[[resources]]`: records of one owner at a path with `{id}` (or one record at a path without it)."""

    init_order: ClassVar[int] = 30
    init_advice: ClassVar[str] = """\
# --- records: TODO. Which records belong to whom, so probe can try one account's ids as the other:
# [[resources]]
# path  = "/api/notes/{id}"
# owner = "alice"
# list  = "GET /api/notes"      # alice's own list, where the ids come from
"""

    path: str = Field(description="/api/notes/{id}")
    owner: str
    name: str | None = None
    ids: tuple[str | int, ...] = ()
    list_request: str | None = Field(default=None, alias="list", description="'GET /api/notes', as the owner")
    ids_at: str = Field(default="[*].id", description="where the ids are in the list's JSON: [*].id, data.items[*].id")
    role: str | None = Field(default=None, description="'admin': only accounts with this role may read it")
    shared_with: tuple[str, ...] = Field(default=(), description="accounts that may read these records by design")
    owner_field: str | None = Field(default=None, description="'user': picks the owner's rows out of a list of everyone's")
    create: str | None = Field(default=None, description="'POST /api/notes': makes a fresh record (active mode)")
    create_json: dict[str, Any] = Field(default_factory=lambda: {"title": "probe test record", "body": "probe"})
    created_id_at: str = "id"
    write: bool = Field(default=False, description="opt in to idor.cross-account-write on records made by `create`")
    write_methods: tuple[str, ...] = ("PATCH", "DELETE")
    write_json: dict[str, Any] = Field(default_factory=lambda: {"title": "probe cross-account write"})
    headers: dict[str, str] = Field(default_factory=dict, description="sent with every request for these records")

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
        if self.owner_field and not self.list_request:
            raise ValueError("owner_field picks the owner's rows out of a list: give list = 'GET ...' too")
        if self.owner in self.shared_with:
            raise ValueError(f"shared_with names the owner {self.owner!r}: list the other accounts that may read")
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


# --- judging bodies ---------------------------------------------------------------------------------


def is_strong(leaf: Leaf) -> bool:
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
    distinctive = {leaf for leaf in leaves(owner_doc) - excluded if is_strong(leaf)}
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


# --- whose rows a list holds -----------------------------------------------------------------------

# Top-level keys of an account's control answer (its whoami) that name the account in other records: the common
# ones, Parse's `objectId` (docs.parseplatform.org/rest/guide/#objects), MongoDB's `_id`, camelCase `userId`.
IDENTITY_KEYS = ("id", "user_id", "userId", "uuid", "pk", "objectId", "_id", "username", "email", "login", "sub")


def identity(username: str | None, control_answer: Response | None) -> frozenset[str]:
    """The values an owner field holds for this account: its username, and its id, username or e-mail as its own
    control answer (`GET /api/me`) shows them."""
    values = {username} if username else set()
    doc = control_answer.json() if control_answer is not None else None
    if isinstance(doc, dict):
        values |= {str(doc[k]) for k in IDENTITY_KEYS if isinstance(doc.get(k), (str, int)) and str(doc[k]).strip()}
    return frozenset(values)


Row = tuple[str, Any]  # (id, the list item that holds it)


def list_rows(document: Any, ids_at: str) -> list[Row]:
    """The ids at `ids_at`, each with the item it was found in: `data.items[*].id` → each of data.items."""
    items_at, _, id_at = ids_at.rpartition(".")
    items = json_path(document, items_at) if items_at else [document]
    return [(str(v), item) for item in items for v in json_path(item, id_at) if isinstance(v, (str, int))]


def owned_rows(rows: Sequence[Row], owner_field: str, who: frozenset[str]) -> list[Row]:
    """The rows whose owner field (`user`, `owner.id`; a nested object counts by any of its values) names the account."""
    return [(rid, item) for rid, item in rows if {value for _, value in leaves(json_path(item, owner_field))} & who]


def rows_view(response: Response, rows: Sequence[Row]) -> Response:
    """The list answer cut down to the given rows: an account's own data when its list holds everyone's."""
    return replace(response, body=json.dumps([item for _, item in rows]).encode())


# --- the matrix -------------------------------------------------------------------------------------
#
# The matrix streams: resources are taken one *unit* at a time (the resources that share a request: the
# same path template or the same list request), prepared, probed, judged, and released, so that what it
# holds does not grow with the number of resources. Each answer is judged the moment it arrives; only its
# verdict outlives it, with the evidence a failure shows. Units run in the order of their first resource
# in the configuration; when the budget runs out, the resources not reached yet are reported as such.


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request of the matrix as judged when it arrived (its body is not kept), or why there is no answer.
    `match`: it carries the owner's record; `evidence` is then its excerpt and `baseline` the owner's own view's.
    `untrusted`: the actor's session was lost around it, so a refusal may mean "logged out", not "not allowed"."""

    who: str
    path: str
    record_id: str | None
    status: int | None = None
    match: Match | None = None
    evidence: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    problem: str | None = None
    untrusted: bool = False


# A walked id that is none of the owner's known records is a hit when its answer names the id (names_record).
NAMES_THE_ID = Match("names-the-id", (), ())


@dataclass(frozen=True, slots=True)
class Tally:
    """The requests of one question about a resource, summed up when its unit is released: the leaks (only
    the first with its evidence), the statuses seen, and what could not be judged."""

    sent: int = 0
    judged: int = 0  # answered, by a session that was still working
    statuses: str = ""
    leaks: tuple[Outcome, ...] = ()
    problems: tuple[str, ...] = ()  # distinct "who: why"
    unjudged: int = 0

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Tally:
        leaks = [o for o in outcomes if o.match]
        return cls(
            sent=len(outcomes),
            judged=sum(1 for o in outcomes if o.status is not None and not o.untrusted),
            statuses=", ".join(sorted({str(o.status) for o in outcomes if o.status is not None})),
            leaks=tuple(o if i == 0 else replace(o, evidence=None, baseline=None) for i, o in enumerate(leaks)),
            problems=tuple(dict.fromkeys(f"{o.who}: {o.problem}" for o in outcomes if o.problem)),
            unjudged=sum(1 for o in outcomes if o.problem),
        )


@dataclass(frozen=True, slots=True)
class Tested:
    """A resource after the matrix: what the four checks report on, without any response body."""

    resource: ResourceSettings
    problem: str | None = None  # an error: the resource could not be prepared or reached
    unusable: str | None = None  # a skip: nothing to test (no ids, owner cannot read them)
    notes: tuple[str, ...] = ()  # what the owner's list held that was not counted as the owner's
    records: int = 0
    integer_ids: bool = False
    walk: bool = True  # False for routes found in the OpenAPI document: their ids were guessed
    walked_with: str | None = None  # the resource whose walk covered the same ids
    across: Tally = Tally()  # each other account (without the role, for a role resource) × each record
    anonymous: Tally = Tally()
    walked: Tally = Tally()


@dataclass
class Record:
    """One record under test: the owner's own view is the baseline."""

    resource: ResourceSettings
    record_id: str | None
    owner_view: Response

    @property
    def path(self) -> str:
        return self.resource.at(self.record_id)


Key = tuple[str | None, str]  # (account or None for no credentials, path)
Target = Record | str  # what an answer is judged against: a record's owner view, or a walked id without one


@dataclass(eq=False)  # identity: one request can be planned by several resources of a unit
class Prepared:
    """A resource of the unit being tested: its baselines (held only while its unit is), its planned requests
    and their judged outcomes."""

    resource: ResourceSettings
    records: list[Record] = field(default_factory=list)
    owner_ids: list[str] = field(default_factory=list)
    own_ids: dict[str, list[str]] = field(default_factory=dict)  # other account → its own ids here
    own_views: dict[str, list[Response]] = field(default_factory=dict)  # other account → its own data
    generic: Response | None = None
    walk: bool = True
    walked_with: str | None = None
    problem: str | None = None
    unusable: str | None = None
    notes: list[str] = field(default_factory=list)
    across: list[Key] = field(default_factory=list)
    anonymous: list[Key] = field(default_factory=list)
    walked: list[Key] = field(default_factory=list)
    outcomes: dict[Key, Outcome] = field(default_factory=dict)

    def tested(self) -> Tested:
        if self.problem or self.unusable:
            return Tested(self.resource, problem=self.problem, unusable=self.unusable, notes=tuple(self.notes))
        return Tested(self.resource, notes=tuple(self.notes), records=len(self.records),
                      integer_ids=any(map(is_integer_id, self.owner_ids)),
                      walk=self.walk, walked_with=self.walked_with,
                      across=Tally.of([self.outcomes[k] for k in self.across]),
                      anonymous=Tally.of([self.outcomes[k] for k in self.anonymous]),
                      walked=Tally.of([self.outcomes[k] for k in self.walked]))


@dataclass(frozen=True)
class Matrix:
    tested: tuple[Tested, ...]
    login_errors: dict[str, str]
    no_control: tuple[str, ...]
    # Accounts left out because their control request answers without credentials too: it could not tell a
    # lost session, so their refusals would prove nothing.
    set_aside: dict[str, str] = field(default_factory=dict)

    @property
    def unavailable(self) -> dict[str, str]:
        return {**self.login_errors, **self.set_aside}


async def request_as(ctx: CheckContext, actor: str | None, path: str, method: str = "GET",
                     headers: Mapping[str, str] | None = None) -> Response:
    # The matrix is idor's pass even when an auth check happens to start it: count it there.
    http = ctx.http.for_family("idor")
    if actor is None:
        return await http.request(method, path, headers=headers, follow_redirects=False)
    return await ctx.accounts.request(http, actor, method, path, headers=headers, follow_redirects=False)


def units(resources: Sequence[ResourceSettings]) -> list[list[ResourceSettings]]:
    """Resources that share a request (a path template, a list request) in one unit, in order of first appearance.
    /api/notes feeds both /api/notes/{id} and /api/notes/{id}/export: its answers are asked for once."""
    parent = list(range(len(resources)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for index, resource in enumerate(resources):
        for shared in (resource.path, resource.list_request):
            if shared is not None and shared in first:
                a, b = root(index), root(first[shared])
                parent[max(a, b)] = min(a, b)  # the root is always the unit's first resource
            elif shared is not None:
                first[shared] = index
    grouped: dict[int, list[ResourceSettings]] = {}
    for index, resource in enumerate(resources):
        grouped.setdefault(root(index), []).append(resource)
    return list(grouped.values())


@dataclass(frozen=True)
class Accountable:
    """Who may take part in the matrix, settled before it starts: accounts that failed to log in (errors),
    accounts set aside for a control that answers anyone (skips), and what names each account in an owner field."""

    login_errors: Mapping[str, str]
    set_aside: Mapping[str, str]
    identities: Mapping[str, frozenset[str]]

    @property
    def unavailable(self) -> dict[str, str]:
        return {**self.login_errors, **self.set_aside}


async def _prepare(ctx: CheckContext, resource: ResourceSettings, who: Accountable,
                   baselines: dict[str, Response], lists: dict[str, Response]) -> Prepared:
    # Each account's control answer (its whoami, its own list) is its own data: never a leak when seen again.
    prepared = Prepared(resource, own_views={n: [r] for n, r in baselines.items() if n != resource.owner})
    owner = resource.owner
    if owner not in ctx.accounts.names:
        prepared.problem = f"owner {owner!r} is not an [accounts.{owner}] entry"
        return prepared
    if owner in who.login_errors:
        prepared.problem = who.login_errors[owner]
        return prepared
    if owner in who.set_aside:
        prepared.unusable = who.set_aside[owner]
        return prepared
    if resource.role and ctx.accounts.role(owner) != resource.role:
        prepared.problem = f"owner {owner!r} must have role = {resource.role!r} to show what the route holds"
        return prepared

    async def listed(actor: str, method: str, path: str) -> Response:
        key = f"{actor} {method} {path}"
        if key not in lists:
            lists[key] = await request_as(ctx, actor, path, method, resource.headers)
        return lists[key]

    ids = [str(i) for i in resource.ids]
    if resource.list_request:
        ids += await _owner_ids(ctx, prepared, who, listed)
        if prepared.unusable or prepared.problem:
            return prepared
    prepared.owner_ids = list(dict.fromkeys(ids))
    if resource.templated and not prepared.owner_ids:
        prepared.unusable = f"no ids for {owner}: the list found none at {resource.ids_at}" if resource.list_request \
            else f"no ids for {owner}"
        return prepared
    refused: list[str] = []
    for record_id in (prepared.owner_ids[:MAX_IDS] if resource.templated else [None]):
        view = await request_as(ctx, owner, resource.at(record_id), headers=resource.headers)
        if 200 <= view.status < 300:
            prepared.records.append(Record(resource, record_id, view))
        else:
            refused.append(f"{resource.at(record_id)} → {view.status}")
    if not prepared.records:
        prepared.unusable = f"{owner} cannot read its own records ({'; '.join(refused)})"
        return prepared
    walker = next(iter(readers(ctx, resource, who.unavailable)), None)
    if resource.templated and walker is not None:
        prepared.generic = await request_as(ctx, walker, resource.at(missing_id(prepared.owner_ids)),
                                            headers=resource.headers)
    return prepared


async def _owner_ids(ctx: CheckContext, prepared: Prepared, who: Accountable,
                     listed: Callable[[str, str, str], Awaitable[Response]]) -> list[str]:
    """The owner's ids from its own list, and each other account's own rows of the same list (its own data, and
    the ids its walk leaves out). A row is the owner's when its owner field names the owner (`owner_field`), else
    when no account that could leak it lists it too: a list that holds others' rows never makes them the owner's."""
    resource, owner = prepared.resource, prepared.resource.owner
    line = resource.list_request or ""
    method, path = parse_request_line(line)
    mine = await listed(owner, method, path)
    if not 200 <= mine.status < 300 or mine.json() is None:
        prepared.problem = f"{owner}'s own list {method} {path} answered {mine.status} without JSON"
        return []
    rows = list_rows(mine.json(), resource.ids_at)
    field_ = resource.owner_field
    if field_:
        own = owned_rows(rows, field_, who.identities.get(owner, frozenset()))
        if len(own) < len(rows):
            prepared.notes.append(f"{owner}'s list {line} holds {len(rows) - len(own)} of {len(rows)} rows whose "
                                  f"{field_} is not {owner}'s: not counted as {owner}'s")
        rows = own
    for other in others_of(ctx, owner, who.unavailable):
        theirs = await listed(other, method, path)
        if 200 <= theirs.status < 300:
            their_rows = list_rows(theirs.json(), resource.ids_at)
            if field_:
                their_rows = owned_rows(their_rows, field_, who.identities.get(other, frozenset()))
                theirs = rows_view(theirs, their_rows)
            prepared.own_views.setdefault(other, []).append(theirs)
            prepared.own_ids[other] = [rid for rid, _ in their_rows]
    ids = [rid for rid, _ in rows]
    if not field_:
        # Without an owner field, a row that an account which could leak it lists as well is not provably the
        # owner's (privileged and shared_with accounts see the owner's rows by design).
        also = {rid for reader in readers(ctx, resource, who.unavailable) for rid in prepared.own_ids.get(reader, [])}
        theirs_too = [rid for rid in ids if rid in also]
        if theirs_too and len(theirs_too) == len(ids):
            prepared.unusable = (f"{owner}'s list {line} holds the same rows as another account's ({len(ids)} of "
                                 f"{len(ids)}): whose records they are cannot be told; set owner_field (e.g. "
                                 f"owner_field = \"user_id\") to pick {owner}'s rows by their owner field")
            return []
        if theirs_too:
            prepared.notes.append(f"{owner}'s list {line} also holds {len(theirs_too)} rows that another account "
                                  f"lists as its own: not counted as {owner}'s")
            ids = [rid for rid in ids if rid not in also]
    if field_ and not ids:
        names = ", ".join(sorted(who.identities.get(owner, frozenset()))) or "nothing known"
        prepared.unusable = f"no row of {owner}'s list {line} has {field_} = one of {owner}'s names ({names})"
    return ids


@dataclass
class Harvest:
    """Candidate ids for the OpenAPI document's routes, taken from one owner's own answers as they pass (its
    control answer, then its records' views in order): per parameter name the first MAX_HARVESTED values, so no
    answer is kept for it."""

    owner: str
    routes: list[tuple[str, str]]  # (path with {id}, the parameter's name)
    found: dict[str, list[str]] = field(default_factory=dict)

    def add(self, answer: Response) -> None:
        wanted = {"id", *(param for _, param in self.routes)}
        for key, value in sorted(leaves(answer.json())):
            values = self.found.setdefault(key, []) if key in wanted else None
            if values is not None and len(values) < MAX_HARVESTED and value not in values:
                values.append(value)

    def ids_for(self, param: str) -> list[str]:
        """Values under the parameter's name, else under `id`."""
        return list(self.found.get(param) or self.found.get("id") or [])


async def _harvest(ctx: CheckContext, owner: str, baselines: dict[str, Response]) -> Harvest:
    """GET routes of a served OpenAPI document with one path parameter that no [[resources]] entry names."""
    doc = await ctx.surface.openapi()
    routes: list[tuple[str, str]] = []
    if doc:
        resources = ctx.sections(ResourceSettings)
        configured = {_PARAM.sub("{id}", r.path) for r in resources}
        servers = doc.get("servers")
        first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
        base = urlsplit(str(first.get("url", ""))).path.rstrip("/")
        for route, operations in list(doc["paths"].items())[:200]:
            params = _PARAM.findall(route) if isinstance(route, str) else []
            if len(params) == 1 and isinstance(operations, dict) and "get" in operations:
                path = base + _PARAM.sub("{id}", route)
                # The surface's rules (no action routes in passive mode, nothing `exclude`d) decide what may be asked.
                if path not in configured and ctx.surface.may_request(path):
                    routes.append((path, params[0]))
    harvest = Harvest(owner, routes)
    if owner in baselines:
        harvest.add(baselines[owner])
    return harvest


def others_of(ctx: CheckContext, owner: str, unavailable: Mapping[str, str]) -> list[str]:
    return [n for n in ctx.accounts.names if n != owner and n not in unavailable]


def readers(ctx: CheckContext, resource: ResourceSettings, unavailable: Mapping[str, str]) -> list[str]:
    """The other accounts whose reading the resource's records would be a leak. Not the accounts it is shared
    with; for a role resource, not the accounts with the role; otherwise not the privileged accounts (any role but
    the default: an admin reads every user by design, and is auth.missing-role-check's reference instead)."""
    others = [a for a in others_of(ctx, resource.owner, unavailable) if a not in resource.shared_with]
    if resource.role:
        return [a for a in others if ctx.accounts.role(a) != resource.role]
    return [a for a in others if not ctx.accounts.privileged(a)]


def by_design(ctx: CheckContext, resource: ResourceSettings, unavailable: Mapping[str, str]) -> str:
    """Which accounts were not asked, because their reads are by design; '' when none."""
    others = others_of(ctx, resource.owner, unavailable)
    shared = [a for a in others if a in resource.shared_with]
    privileged = [f"{a} (role {ctx.accounts.role(a)!r})" for a in others if a not in shared and (
        ctx.accounts.role(a) == resource.role if resource.role else ctx.accounts.privileged(a))]
    parts = ([f"{', '.join(privileged)} privileged"] if privileged else []) + (
        [f"{', '.join(shared)} in shared_with"] if shared else [])
    return f" Not asked, their reads are by design: {'; '.join(parts)}." if parts else ""


def walk_ids(prepared: Prepared, walker: str) -> list[str]:
    """Neighbouring integer ids around the owner's known ones, minus the walker's own; bounded."""
    known = [int(i) for i in prepared.owner_ids if is_integer_id(i)]
    mine = set(prepared.own_ids.get(walker, []))
    window: set[int] = set()
    for base in known:
        window.update(range(max(0, base - WINDOW), base + WINDOW + 1))
    return [str(i) for i in sorted(window) if str(i) not in mine][:MAX_WALK]


def plan(ctx: CheckContext, unit: list[Prepared], unavailable: Mapping[str, str]) -> dict[Key, list[tuple[Prepared, Target]]]:
    """Every request of a unit once (cross-account and no-credential requests first, then the walks), with what
    each resource that planned it judges it against. An id space is walked once: a resource whose ids come from
    the same list as an earlier one's (same owner, same list request, same place in it) names that walk instead.
    Configured ids alone do not make an id space: id 1 of one table is not id 1 of another."""
    keys: dict[Key, list[tuple[Prepared, Target]]] = {}

    def add(p: Prepared, into: list[Key], key: Key, target: Target) -> None:
        into.append(key)
        if all(q is not p for q, _ in keys.setdefault(key, [])):
            keys[key].append((p, target))

    ready = [p for p in unit if not (p.problem or p.unusable)]
    for p in ready:
        actors = readers(ctx, p.resource, unavailable)
        for record in p.records:
            for actor in actors:
                add(p, p.across, (actor, record.path), record)
        for record in p.records[:MAX_ANON_IDS]:
            add(p, p.anonymous, (None, record.path), record)
    walks: dict[tuple[str, str, str], str] = {}
    for p in ready:
        resource = p.resource
        walker = next(iter(readers(ctx, resource, unavailable)), None)
        if resource.role or not resource.templated or not p.walk or walker is None:
            continue
        source = (resource.owner, resource.list_request, resource.ids_at) if resource.list_request else None
        if source in walks:
            p.walked_with = walks[source]
            continue
        if source is not None:
            walks[source] = resource.label
        views = {r.record_id: r for r in p.records}
        for record_id in walk_ids(p, walker):
            add(p, p.walked, (walker, resource.at(record_id)), views.get(record_id, record_id))
    return keys


def _subject(target: Target) -> str | None:
    return target.record_id if isinstance(target, Record) else target


def judge(p: Prepared, key: Key, target: Target, response: Response) -> Outcome:
    actor, path = key
    mine = p.own_views.get(actor, []) if actor is not None else []
    if isinstance(target, Record):
        match = carries_record(response, target.owner_view, not_theirs=mine, generic=p.generic)
        baseline = target.owner_view.evidence(max_chars=200) if match else None
    else:
        named = names_record(response, target, p.generic) and not any(
            carries_record(response, own, generic=p.generic) for own in mine)
        match, baseline = (NAMES_THE_ID if named else None), None
    return Outcome(actor or "no credentials", path, _subject(target), response.status, match,
                   response.evidence(max_chars=200) if match else None, baseline)


def control_line(ctx: CheckContext, name: str) -> str | None:
    configured = ctx.accounts.settings(name).control
    if configured:
        return configured
    resources = ctx.sections(ResourceSettings)
    return next((r.list_request for r in resources if r.list_request), None)


def names_account(response: Response, username: str | None) -> bool:
    """Whether an answer names the account by its username (a whoami's `{"user": {"username": "alice"}}`)."""
    doc = response.json()
    return bool(username) and doc is not None and any(value == username for _, value in leaves(doc))


@dataclass(frozen=True)
class Control:
    """An account's control request, and how its answer tells a working session: by its status when strangers are
    refused, or by naming the account when strangers get an answer too (a `/settings` or `/api/me` that answers
    everyone, saying who is asking)."""

    line: str
    by_name: str | None = None


async def _control(ctx: CheckContext, name: str, control: Control) -> Response | None:
    """The control request's answer when it succeeds; None when the account's session no longer works."""
    method, path = parse_request_line(control.line)
    try:
        response = await request_as(ctx, name, path, method)
    except LoginFailed:
        return None
    if not 200 <= response.status < 300 or (control.by_name is not None and not names_account(response, control.by_name)):
        return None
    return response


class Prober:
    """Sends the planned requests CONCURRENCY at a time and, after every BATCH of them, each account's control
    request: when it stops succeeding, that batch's answers for the account are untrusted and it sends nothing
    more. A unit is released once its last batch's controls are in."""

    def __init__(self, ctx: CheckContext, controls: dict[str, Control]) -> None:
        self.ctx = ctx
        self.controls = controls
        self.queue: list[tuple[Key, list[tuple[Prepared, Target]]]] = []
        self.waiting: list[tuple[int, list[Prepared]]] = []  # (requests queued up to its last, unit)
        self.queued = 0
        self.done = 0
        self.lost: dict[str, str] = {}
        self.budget_gone: str | None = None
        self.tested: list[Tested] = []
        self._gate = asyncio.Semaphore(CONCURRENCY)

    def stopped(self, exc: Exception) -> str:
        self.budget_gone = self.budget_gone or f"not reached: {exc}"
        return self.budget_gone

    async def submit(self, unit: list[Prepared], planned: dict[Key, list[tuple[Prepared, Target]]]) -> None:
        self.queue += planned.items()
        self.queued += len(planned)
        self.waiting.append((self.queued, unit))
        while len(self.queue) >= BATCH:
            await self._batch()
        self._release()

    async def finish(self) -> list[Tested]:
        while self.queue:
            await self._batch()
        self._release()
        return self.tested

    def _release(self) -> None:
        while self.waiting and self.waiting[0][0] <= self.done:
            self.tested += (p.tested() for p in self.waiting.pop(0)[1])

    async def _send(self, key: Key, judges: list[tuple[Prepared, Target]]) -> None:
        actor, path = key
        problem = self.budget_gone or (self.lost.get(actor) if actor is not None else None)
        if problem is None:
            async with self._gate:
                try:
                    response = await request_as(self.ctx, actor, path, headers=judges[0][0].resource.headers)
                except (BudgetExhausted, DeadlineReached) as exc:
                    problem = self.stopped(exc)
                except HttpError as exc:
                    problem = str(exc)
                else:
                    for p, target in judges:
                        p.outcomes[key] = judge(p, key, target, response)
                    return
        for p, target in judges:
            p.outcomes[key] = Outcome(actor or "no credentials", path, _subject(target), problem=problem)

    async def _batch(self) -> None:
        batch, self.queue = self.queue[:BATCH], self.queue[BATCH:]
        await asyncio.gather(*(self._send(key, judges) for key, judges in batch))
        self.done += len(batch)
        if self.budget_gone:
            return
        for name in dict.fromkeys(a for (a, _), _ in batch if a is not None and a in self.controls and a not in self.lost):
            try:
                still = await _control(self.ctx, name, self.controls[name]) is not None
            except (BudgetExhausted, DeadlineReached) as exc:
                self.stopped(exc)
                return
            if not still:
                self.lost[name] = f"{name}'s session was lost (control request {self.controls[name].line} stopped succeeding)"
                for key, judges in batch:
                    if key[0] == name:
                        for p, _ in judges:
                            p.outcomes[key] = replace(p.outcomes[key], problem=self.lost[name], untrusted=True)


async def build_matrix(ctx: CheckContext) -> Matrix:
    login_errors: dict[str, str] = {}
    for name in ctx.accounts.names:
        try:
            await ctx.accounts.session(name)
        except LoginFailed as exc:
            login_errors[name] = str(exc)
    controls: dict[str, Control] = {}
    baselines: dict[str, Response] = {}
    set_aside: dict[str, str] = {}
    for name in ctx.accounts.names:
        line = control_line(ctx, name)
        if name in login_errors or line is None:
            continue
        baseline = await _control(ctx, name, Control(line))
        if baseline is None:
            login_errors[name] = f"account {name!r}: its control request {line} did not succeed before the matrix"
            continue
        baselines[name] = baseline
        # A control must tell a working session from a lost one: refused without credentials, or else answering
        # strangers without the account's name while the account's own answer carries it.
        method, path = parse_request_line(line)
        anyone = await request_as(ctx, None, path, method)
        username = ctx.accounts.settings(name).username
        if not 200 <= anyone.status < 300:
            controls[name] = Control(line)
        elif names_account(baseline, username) and not names_account(anyone, username):
            controls[name] = Control(line, by_name=username)
        elif ctx.accounts.settings(name).control:
            set_aside[name] = (f"account {name!r} set aside: its control request {line} answers without credentials "
                               f"too ({anyone.status}) with nothing in it that names {name} alone, so it cannot "
                               f"tell a lost session; set control to a request only a logged-in {name} can make "
                               f"(e.g. 'GET /api/me')")
    who = Accountable(login_errors, set_aside, {
        n: identity(ctx.accounts.settings(n).username, baselines.get(n)) for n in ctx.accounts.names})
    prober = Prober(ctx, controls)
    harvest: Harvest | None = None

    async def run(unit: list[ResourceSettings], *, guessed: bool = False) -> int:
        """Prepare, plan and queue one unit; how many of its resources have records to test. A guessed route
        (from the OpenAPI document) joins only when the owner can read it, and without the walk: its ids may not
        even be its kind of id."""
        nonlocal harvest
        lists: dict[str, Response] = {}
        prepared: list[Prepared] = []
        for resource in unit:
            if prober.budget_gone:
                prepared.append(Prepared(resource, problem=prober.budget_gone))
                continue
            try:
                prepared.append(await _prepare(ctx, resource, who, baselines, lists))
            except (BudgetExhausted, DeadlineReached) as exc:
                prepared.append(Prepared(resource, problem=prober.stopped(exc)))
            except HttpError as exc:
                prepared.append(Prepared(resource, problem=str(exc)))
        ready = [p for p in prepared if p.records]
        if guessed:
            prepared = ready
            for p in ready:
                p.walk = False
        elif ready and harvest is None and not prober.budget_gone:
            try:
                harvest = await _harvest(ctx, ready[0].resource.owner, baselines)
            except (BudgetExhausted, DeadlineReached) as exc:
                prober.stopped(exc)
        for p in ready:
            if harvest is not None and not guessed and p.resource.owner == harvest.owner:
                for record in p.records:
                    harvest.add(record.owner_view)
        await prober.submit(prepared, plan(ctx, prepared, who.unavailable))
        return len(ready)

    resources = ctx.sections(ResourceSettings)
    for unit in units(resources):
        await run(unit)
    if harvest is not None:
        guesses, found = harvest, 0
        for path, param in guesses.routes:
            ids = guesses.ids_for(param)
            if ids and found < MAX_OPENAPI_ROUTES and not prober.budget_gone:
                found += await run([ResourceSettings(path=path, owner=guesses.owner, ids=tuple(ids),
                                                     name=f"{path} (from the OpenAPI document)")], guessed=True)
    tested = await prober.finish()
    no_control = tuple(n for n in ctx.accounts.names if n not in controls and n not in who.unavailable)
    return Matrix(tuple(tested), login_errors, no_control, set_aside)


MATRIX: MemoKey[Matrix] = MemoKey("idor:matrix")


async def matrix(ctx: CheckContext) -> Matrix:
    return await ctx.memo.get(MATRIX, lambda: build_matrix(ctx))


def resource_status(ctx: CheckContext, t: Tested) -> Result | None:
    location = ctx.http.url(t.resource.path)
    if t.problem:
        return ctx.error(location, f"{t.resource.label}: {t.problem}")
    if t.unusable:
        return ctx.skip(location, f"{t.resource.label}: {t.unusable}")
    return None


def pair_evidence(leak: Outcome) -> dict[str, Any]:
    return {
        "owner_request": leak.baseline,
        "other_request": leak.evidence,
        "statuses": {"owner": (leak.baseline or {}).get("response", {}).get("status"), "other": leak.status},
        "comparison": leak.match.how if leak.match else None,
        "identical_fields": list(leak.match.shared_fields) if leak.match else [],
        "differing_fields": list(leak.match.differing_fields) if leak.match else [],
    }


def how(leak: Outcome) -> str:
    return f"{leak.status}, {leak.match.how.replace('-', ' ')}" if leak.match else str(leak.status)


def unsure(ctx: CheckContext, location: str, label: str, tally: Tally) -> Result | None:
    """An error naming what could not be trusted or reached, when nothing leaked but not everything was tested."""
    if not tally.problems:
        return None
    return ctx.error(location, f"{label}: {tally.unjudged} of {tally.sent} requests could not be judged "
                               f"({tally.judged} judged): {'; '.join(tally.problems)}")


def login_note(m: Matrix) -> str:
    parts = [*(m.login_errors.values()), *(m.set_aside.values())]
    if m.no_control:
        parts.append(f"no control request for {', '.join(m.no_control)} (set control = 'GET /api/me'): "
                     "a lost session would go unnoticed")
    return (" Note: " + "; ".join(parts)) if parts else ""


# The precondition every matrix check declares (with `accounts(n)`): resources to test.
RESOURCES = Guard("needs [[resources]] (a path with {id}, its owner, and ids or a list request) and [accounts.*]; "
                  "see docs/authorization.md", lambda ctx: bool(ctx.sections(ResourceSettings)))
