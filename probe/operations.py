"""What an OpenAPI (3.x) or Swagger (2.0) document says about its operations: method, path (with the document's
base path, templates kept) and the query and path parameters, with whether each is required and numeric; and which
parameters of a route seen elsewhere (a template, a query) carry numbers by their names.

Only local `$ref`s (`#/components/parameters/...`, `#/parameters/...`) are followed; anything else is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

HTTP_METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
# Parameter names that carry numbers by convention, for routes whose schema does not say (or is not known):
# offset pagination (Django REST Framework `limit`/`offset`, FastAPI's tutorial `skip`/`limit`, Prisma `skip`/`take`),
# page pagination (`page`, `per_page` as GitHub, `page_size`/`size` as DRF and Spring Data) and ids.
NUMERIC_NAMES = frozenset({"skip", "offset", "limit", "take", "page", "per_page", "perpage", "page_size", "pagesize",
                           "size", "count", "start", "id"})
_ID_NAME = re.compile(r"(?:^|_)id$|[a-z]Id$")
_TEMPLATE = re.compile(r"^(?:\{(?P<a>[^/}]*)\}|\$\{(?P<b>[^/}]*)\}|:(?P<c>[A-Za-z_]\w*)|<(?:\w+:)?(?P<d>[^/>]*)>)$")


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "query" or "path"
    required: bool
    numeric: bool
    example: str | None = None  # the document's default or example, as it would appear in a URL


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    parameters: tuple[Parameter, ...]


def numeric_name(name: str) -> bool:
    return name.lower() in NUMERIC_NAMES or bool(_ID_NAME.search(name))


def template_names(path: str) -> list[str | None]:
    """Per path segment, the parameter name of a template segment (`{id}`, `${id}`, `:id`, `<int:id>`), else None."""
    names: list[str | None] = []
    for segment in path.split("/"):
        found = _TEMPLATE.match(segment)
        names.append(next((g for g in found.groups() if g is not None), "") if found else None)
    return names


def base_path(doc: dict[str, Any]) -> str:
    """The path every operation sits under: the first server's path (OpenAPI 3) or `basePath` (Swagger 2)."""
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        return urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
    base = doc.get("basePath")
    return base.rstrip("/") if isinstance(base, str) else ""


def resolve(doc: dict[str, Any], item: Any) -> Any:
    """The node a local `$ref` points to (`#/components/schemas/Login`), or the item itself when it is no reference."""
    ref = item.get("$ref") if isinstance(item, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return item
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node


def _types(doc: dict[str, Any], schema: Any, depth: int = 0) -> set[str]:
    schema = resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 4:
        return set()
    kind = schema.get("type")
    found = {kind} if isinstance(kind, str) else {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or ():
            found |= _types(doc, sub, depth + 1)
    return found


def _parameter(doc: dict[str, Any], raw: Any) -> Parameter | None:
    item = resolve(doc, raw)
    if not isinstance(item, dict) or item.get("in") not in ("query", "path") or not isinstance(item.get("name"), str):
        return None
    schema = resolve(doc, item.get("schema", item))  # Swagger 2 puts `type` on the parameter itself
    types = _types(doc, schema)
    example = next((v for v in (item.get("example"), schema.get("example") if isinstance(schema, dict) else None,
                                schema.get("default") if isinstance(schema, dict) else None)
                    if isinstance(v, (str, int, float)) and not isinstance(v, bool)), None)
    numeric = bool(types & {"integer", "number"}) or (not types - {"null"} and numeric_name(item["name"]))
    return Parameter(item["name"], item["in"], bool(item.get("required")) or item["in"] == "path", numeric,
                     None if example is None else str(example))


def operations(doc: dict[str, Any]) -> tuple[Operation, ...]:
    """Every operation of the document, in its order."""
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return ()
    base = base_path(doc)
    found: list[Operation] = []
    for path, item in paths.items():
        if not isinstance(path, str) or not isinstance(item, dict):
            continue
        shared = [p for p in (_parameter(doc, raw) for raw in item.get("parameters") or ()) if p]
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            own = [p for p in (_parameter(doc, raw) for raw in operation.get("parameters") or ()) if p]
            names = {(p.name, p.location) for p in own}
            merged = (*own, *(p for p in shared if (p.name, p.location) not in names))
            found.append(Operation(method.upper(), base + path, merged))
    return tuple(found)
