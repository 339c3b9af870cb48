"""JSON Schema, the small part a fake needs: an instance generator and the checks providers make.

`example` builds a value that matches a schema (every property filled, by type, near the root;
required ones at any depth), for tool arguments and structured output. `schema_problem` finds
what makes a schema unusable at all; `strict_problem` applies OpenAI's strict-mode rules. Both
answer in OpenAI's wording: ``In context=('properties', 'x'), ...``.
"""

from __future__ import annotations

from typing import Any, cast

JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_MAX_DEPTH = 12
_OPTIONAL_DEPTH = 3  # below this depth only required properties are filled (recursive schemas)
_FORMATS = {
    "email": "user@example.com",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: object = root
    for key in ref[2:].split("/"):
        node = node.get(key) if isinstance(node, dict) else None
    return cast(dict[str, Any], node) if isinstance(node, dict) else {}


def _type_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return str(kinds[0]) if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    step = 1 if integer else 0.5
    if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
        low = exclusive + step
    value: float = float(low) if isinstance(low, (int, float)) else (1 if integer else 1.5)
    high = schema.get("maximum")
    if isinstance(high, (int, float)) and value > high:
        value = float(high)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        value = -(-value // multiple) * multiple
    return int(value) if integer else value


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    text = _FORMATS.get(fmt, name or "text") if isinstance(fmt, str) else (name or "text")
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text += "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


def example(schema: object, root: object = None, *, name: str = "", depth: int = 0) -> Any:
    """A value valid against `schema` (deterministic: the same schema gives the same value)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return name or "text"
    top = cast(dict[str, Any], root) if isinstance(root, dict) else schema
    schema = _resolve(schema, top)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example((usable or options)[0], top, name=name, depth=depth + 1)
    kind = _type_of(schema)
    if kind == "object":
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        needed = set(required) if isinstance(required, list) else set()
        return {
            key: example(sub, top, name=key, depth=depth + 1)
            for key, sub in props.items()
            if key in needed or depth < _OPTIONAL_DEPTH
        }
    if kind == "array":
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [example(s, top, name=name, depth=depth + 1) for s in prefix]
        count = max(1, schema.get("minItems") or 0)
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        item = example(schema.get("items", {}), top, name=name, depth=depth + 1)
        return [item] * count
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name)


def _ctx(path: tuple[str, ...]) -> str:
    return f"In context={path!r}"


def schema_problem(schema: object, path: tuple[str, ...] = ()) -> str | None:
    """Why `schema` is not a usable JSON Schema (None when it is)."""
    if isinstance(schema, bool):
        return None
    if not isinstance(schema, dict):
        return f"{_ctx(path)}, schema must be an object or a boolean, got {schema!r}."
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for k in kinds:
        if k not in JSON_TYPES:
            return f"{_ctx(path)}, {k!r} is not valid under any of the given schemas."
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            return f"{_ctx(path)}, 'properties' must be an object, got {props!r}."
        for key, sub in props.items():
            found = schema_problem(sub, (*path, "properties", key))
            if found:
                return found
    required = schema.get("required")
    if required is not None and not (
        isinstance(required, list) and all(isinstance(r, str) for r in required)
    ):
        return f"{_ctx(path)}, 'required' must be an array of strings, got {required!r}."
    enum = schema.get("enum")
    if enum is not None and not (isinstance(enum, list) and enum):
        return f"{_ctx(path)}, 'enum' must be a non-empty array, got {enum!r}."
    for key in ("items", "additionalProperties", "not"):
        if key in schema and not isinstance(schema[key], (dict, bool)):
            return f"{_ctx(path)}, {key!r} must be a schema, got {schema[key]!r}."
        if isinstance(schema.get(key), dict):
            found = schema_problem(schema[key], (*path, key))
            if found:
                return found
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        options = schema.get(key)
        if options is None:
            continue
        if not isinstance(options, list) or not options:
            return f"{_ctx(path)}, {key!r} must be a non-empty array of schemas."
        for i, sub in enumerate(options):
            found = schema_problem(sub, (*path, key, str(i)))
            if found:
                return found
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        if isinstance(defs, dict):
            for def_name, sub in defs.items():
                found = schema_problem(sub, (*path, key, def_name))
                if found:
                    return found
    return None


def strict_problem(schema: object, path: tuple[str, ...] = ()) -> str | None:
    """OpenAI strict mode: every object closed (`additionalProperties: false`) and every
    property required. Assumes `schema_problem` found nothing."""
    if not isinstance(schema, dict):
        return None
    if _type_of(schema) == "object" and "$ref" not in schema:
        if schema.get("additionalProperties") is not False:
            return (
                f"{_ctx(path)}, 'additionalProperties' is required to be supplied and to be false."
            )
        props = schema.get("properties")
        keys = list(props) if isinstance(props, dict) else []
        required = schema.get("required")
        missing = [k for k in keys if not (isinstance(required, list) and k in required)]
        if missing:
            return (
                f"{_ctx(path)}, 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing '{missing[0]}'."
            )
    subs: list[tuple[tuple[str, ...], object]] = []
    props = schema.get("properties")
    if isinstance(props, dict):
        subs += [((*path, "properties", k), v) for k, v in props.items()]
    if isinstance(schema.get("items"), dict):
        subs.append(((*path, "items"), schema["items"]))
    for key in ("anyOf", "$defs", "definitions"):
        group = schema.get(key)
        if isinstance(group, list):
            subs += [((*path, key, str(i)), v) for i, v in enumerate(group)]
        elif isinstance(group, dict):
            subs += [((*path, key, k), v) for k, v in group.items()]
    for sub_path, sub in subs:
        found = strict_problem(sub, sub_path)
        if found:
            return found
    return None
