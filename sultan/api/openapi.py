"""An OpenAPI 3 document for the REST server, generated from the routes actually served.

Schemas come from the protobuf descriptors of each route's request and response messages,
written the way the gateway renders them (proto field names, int64/uint64 as strings,
bytes as base64 strings, enums by name), so the document cannot drift from the server.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor as _descriptor

from sultan import __version__

FD = _descriptor.FieldDescriptor
MAX_QUERY_DEPTH = 3

_SCALARS: dict[int, dict[str, Any]] = {
    FD.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FD.TYPE_FLOAT: {"type": "number", "format": "float"},
    FD.TYPE_INT64: {"type": "string", "format": "int64"},
    FD.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FD.TYPE_SINT64: {"type": "string", "format": "int64"},
    FD.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    FD.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FD.TYPE_INT32: {"type": "integer", "format": "int32"},
    FD.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FD.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FD.TYPE_UINT32: {"type": "integer", "format": "int64"},
    FD.TYPE_FIXED32: {"type": "integer", "format": "int64"},
    FD.TYPE_BOOL: {"type": "boolean"},
    FD.TYPE_STRING: {"type": "string"},
    FD.TYPE_BYTES: {"type": "string", "format": "byte"},
}

_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "example": "3.5s"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
}


def _repeated(field: Any) -> bool:
    repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.29; `label` before
    return bool(repeated) if repeated is not None else field.label == FD.LABEL_REPEATED


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, desc: Any) -> dict[str, Any]:
        if desc.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[desc.full_name])
        if desc.full_name not in self.components:
            self.components[desc.full_name] = {}  # placeholder for recursive messages
            self.components[desc.full_name] = self._message(desc)
        return {"$ref": f"#/components/schemas/{desc.full_name}"}

    def _message(self, desc: Any) -> dict[str, Any]:
        props = {f.name: self.field(f) for f in desc.fields}
        return {"type": "object", "properties": props}

    def field(self, field: Any) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self._single(value_field)}
        single = self._single(field)
        return {"type": "array", "items": single} if _repeated(field) else single

    def _single(self, field: Any) -> dict[str, Any]:
        if field.type == FD.TYPE_MESSAGE:
            return self.ref(field.message_type)
        if field.type == FD.TYPE_ENUM:
            return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
        return dict(_SCALARS.get(field.type, {"type": "string"}))


def _query_params(
    desc: Any, schemas: _Schemas, prefix: str = "", depth: int = 0
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for field in desc.fields:
        name = prefix + field.name
        if field.type == FD.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry or _repeated(field):
                continue
            if field.message_type.full_name in _WELL_KNOWN or depth + 1 >= MAX_QUERY_DEPTH:
                continue
            out.extend(_query_params(field.message_type, schemas, name + ".", depth + 1))
            continue
        schema = schemas.field(field)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
        if _repeated(field):
            param["style"] = "form"
            param["explode"] = True
        out.append(param)
    return out


def _operation_id(method: str) -> str:
    service, _, name = method.strip("/").partition("/")
    return f"{service.replace('.', '_')}_{name}"


def build_openapi(node: Any, routes: list[Any]) -> dict[str, Any]:
    schemas = _Schemas()
    error_schema = {
        "type": "object",
        "properties": {
            "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": _WELL_KNOWN["google.protobuf.Any"]},
        },
    }
    paths: dict[str, Any] = {}
    for route in routes:
        path_names = set(route.params)
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in route.params
        ]
        op: dict[str, Any] = {
            "operationId": _operation_id(route.method),
            "summary": route.method,
            "tags": [route.module or route.method.strip("/").split("/")[0]],
            "parameters": params,
            "responses": {
                "200": {
                    "description": "A successful response.",
                    "content": {
                        "application/json": {"schema": schemas.ref(route.response_class.DESCRIPTOR)}
                    },
                },
                "default": {
                    "description": "An error (gRPC status code and message).",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Status"}}
                    },
                },
            },
        }
        if route.http_method in ("POST", "PUT", "PATCH"):
            op["requestBody"] = {
                "content": {
                    "application/json": {"schema": schemas.ref(route.request_class.DESCRIPTOR)}
                }
            }
        else:
            query = _query_params(route.request_class.DESCRIPTOR, schemas)
            op["parameters"] = params + [q for q in query if q["name"] not in path_names]
        op["parameters"].append(
            {
                "name": "x-cosmos-block-height",
                "in": "header",
                "required": False,
                "description": "Query state at this height (default: latest).",
                "schema": {"type": "string", "format": "int64"},
            }
        )
        paths.setdefault(route.openapi_path, {})[route.http_method.lower()] = op
    json_ok = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
    paths["/health"] = {
        "get": {
            "operationId": "health",
            "summary": "200 while blocks are being committed, 503 otherwise",
            "tags": ["operator"],
            "responses": {**json_ok, "503": {"description": "Unhealthy"}},
        }
    }
    paths["/status"] = {
        "get": {"operationId": "status", "tags": ["operator"], "responses": json_ok}
    }
    paths["/chain_info"] = {
        "get": {"operationId": "chain_info", "tags": ["operator"], "responses": json_ok}
    }
    schemas.components["Status"] = error_schema
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"Sultan REST API — {node.chain_id}",
            "version": __version__,
            "description": "Cosmos SDK v0.50 gateway routes served by this node's enabled modules.",
        },
        "paths": paths,
        "components": {"schemas": schemas.components},
    }
