"""The OpenAPI 3.1 description of ``/admin/v1``, served at ``/admin/v1/openapi.json``.

Kept beside the routes and checked against them by the tests (every route is
described, every description is a route).
"""

from __future__ import annotations

from typing import Any

from directory import grid
from directory.accounts import REASON_LENGTH
from directory.catalog import CODE_LENGTH, NAME_LENGTH, RESOURCE_DEFAULTS
from scimd.admin.users import MAX_BULK
from sso import wizard

_ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
_ACCOUNT_FIELDS = {
    "userType": {"type": ["string", "null"]},
    "accessLocked": {"type": "boolean", "readOnly": True},
    "loginAllowed": {"type": "boolean", "readOnly": True},
    "locked": {"type": "boolean", "readOnly": True},
    "lockedDate": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
    "lockedReason": {"type": ["string", "null"], "readOnly": True},
    "lastLogin": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
    "failedTries": {"type": "integer", "readOnly": True},
    "mfaEnabled": {"type": "boolean", "readOnly": True},
    "mfaRequired": {"type": ["boolean", "null"]},
    "mfaNotEnforced": {"type": "boolean", "readOnly": True},
    "forcePasswordChange": {"type": "boolean"},
    "loginAllowedFrom": {"type": ["string", "null"], "format": "date-time"},
    "loginAllowedTo": {"type": ["string", "null"], "format": "date-time"},
    "accessLicence": {"type": ["string", "null"]},
    "hasPassword": {"type": "boolean", "readOnly": True},
    "approval": {
        "type": ["string", "null"],
        "enum": ["pending", "approved", "rejected", None],
        "readOnly": True,
        "description": "changed by the approve and reject actions",
    },
}
_USER = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "readOnly": True},
        "userName": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "mobile": {"type": ["string", "null"]},
        "active": {"type": ["boolean", "null"]},
        "version": {"type": "integer", "readOnly": True},
        "created": {"type": "string", "format": "date-time", "readOnly": True},
        "lastModified": {"type": "string", "format": "date-time", "readOnly": True},
        **_ACCOUNT_FIELDS,
        **{
            field: {"type": "array", "items": {"type": "string"}, "description": description}
            for field, description in (
                ("roles", "role codes granted directly"),
                ("roleGroups", "role group codes (each grants its roles)"),
                ("userGroups", "user group codes"),
                ("dacGroups", "data-access-control group codes"),
            )
        },
    },
}
ACTIONS = [
    "allow-login",
    "block-login",
    "lock",
    "unlock",
    "reset-tries",
    "set-password",
    "mfa-remove",
    "mfa-do-not-enforce",
    "delete-trusted-devices",
    "approve",
    "reject",
    "copy-access",
    "auto-reset-password",
]


_THROTTLED = {
    "description": "the token spent its request budget; try again after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _responses(ok: str, schema: dict[str, Any] | None = None, status: str = "200") -> Any:
    answer: dict[str, Any] = {"description": ok}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        status: answer,
        "400": {"description": "invalid request", **error},
        "401": {"description": "no or unknown bearer token", **error},
        "403": {"description": "the token lacks the admin scope", **error},
        "404": {"description": "not found", **error},
        "429": _THROTTLED,
    }


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_USER_REF = {"$ref": "#/components/schemas/User"}
_TAKEN = {
    "description": "the userName (or, without shared logins, an email) is another user's",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_CATALOG = {
    "roles": "role (rules: licences, userTypes allowed to hold it; none named: any)",
    "role-groups": "role group (rules: roles it grants)",
    "licences": "licence",
    "user-types": "user type",
    "user-groups": "user group",
    "dac-groups": "data-access-control group",
    "resource-groups": "resource group (rules: defaults of its people's HR records)",
}


def _text(length: int | None, description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": length}
    return {**schema, "description": description} if description else schema


# Text that is not blank (codes and names are stored stripped).
_CODE = {"type": "string", "minLength": 1, "maxLength": CODE_LENGTH, "pattern": r"\S"}
_CODES = {"type": "array", "items": _CODE}
_ENTRY = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": _CODE,
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_LENGTH, "pattern": r"\S"},
        "licences": _CODES,
        "userTypes": _CODES,
        "roles": _CODES,
        "countryCode": _text(RESOURCE_DEFAULTS["countryCode"], "ISO 3166 alpha-2"),
        "currency": _text(RESOURCE_DEFAULTS["currency"], "ISO 4217"),
        **{
            name: _text(RESOURCE_DEFAULTS[name])
            for name in (
                "department",
                "departmentDescription",
                "costCentre",
                "costCentreDescription",
                "paymentMethod",
                "paymentTerms",
            )
        },
        "staff": {"type": "boolean"},
    },
}


def _catalog_paths(path: str, what: str) -> dict[str, Any]:
    code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        f"/{path}": {
            "get": {"summary": f"Every {what}", "responses": _responses("entries")},
            "post": {
                "summary": f"Create or replace a {what}",
                "requestBody": _body(_ENTRY),
                "responses": _responses("the entry", _ENTRY, "201"),
            },
        },
        f"/{path}/{{code}}": {
            "parameters": [code],
            "get": {"summary": f"One {what}", "responses": _responses("the entry", _ENTRY)},
            "delete": {
                "summary": f"Delete a {what} nobody holds",
                "responses": _responses("deleted", None, "204"),
            },
        },
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERROR_CONTENT = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
}
_IMPORT_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": ".csv or .xlsx"},
        "skipErrors": {"type": "boolean", "description": "import good rows, report bad ones"},
        "dateFormat": {"type": "string", "enum": ["british", "us", "iso"]},
        "copyRolesFrom": {"type": "string", "description": "a username"},
        "resetFromResourceGroup": {"type": "boolean"},
        "updateExisting": {"type": "boolean"},
        "dryRun": {"type": "boolean"},
        "queue": {"type": "boolean"},
    },
}
_JOB = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "progress": {
            "type": "object",
            "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
        },
        "report": {"type": "object"},
    },
}
# A provider's name as links store it (trimmed and lower-cased first).
_PROVIDER = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"}
_NAME = {"name": "name", "in": "path", "required": True, "schema": _PROVIDER}
_NUMBER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
_HTTPS_URL = {"type": "string", "pattern": "^https://", "maxLength": 500}
_CLIENT_ID = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"}
_SECRET = {"type": "string", "minLength": 1, "writeOnly": True}
_STATUSES = ("linked", "match", "no_local_user", "ambiguous", "conflict", "invalid")
_PREVIEW = {
    "type": "object",
    "properties": {
        "snapshotId": {"type": "integer"},
        "provider": {"type": "string"},
        "counts": {"type": "object"},
        "totalResults": {"type": "integer"},
        "startIndex": {"type": "integer"},
        "rows": {"type": "array", "items": {"type": "object"}},
    },
}
_DATE_FORMAT = {
    "name": "dateFormat",
    "in": "query",
    "schema": {"type": "string", "enum": ["british", "us", "iso"]},
}


def _file_responses(media_type: str) -> dict[str, Any]:
    return {
        "200": {"description": "the file", "content": {media_type: {}}},
        "400": {"description": "invalid parameters", **_ERROR_CONTENT},
        "401": {"description": "no valid token", **_ERROR_CONTENT},
        "403": {"description": "the token lacks the admin scope", **_ERROR_CONTENT},
        "429": _THROTTLED,
    }


_FLAG = {"type": "boolean"}
_GRID_FILTERS = [
    {"name": "search", "in": "query", "schema": {"type": "string"}},
    *(
        {"name": flag, "in": "query", "schema": _FLAG}
        for flag in ("locked", "blocked", "pendingApproval", "mfaRequired", "mfaEnabled")
    ),
    {"name": "licence", "in": "query", "schema": {"type": "string"}},
    {"name": "userType", "in": "query", "schema": {"type": "string"}},
    {
        "name": "sort",
        "in": "query",
        "description": "a leading - sorts descending",
        "schema": {"enum": [f"{order}{key}" for order in ("", "-") for key in grid.SORTS]},
    },
]
_SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mfa_required": {"type": "boolean"},
        "max_failed_tries": {"type": "integer", "minimum": 1, "maximum": 100},
        "trusted_device_days": {"type": "integer", "minimum": 0, "maximum": 365},
        "session_hours": {"type": "integer", "minimum": 1, "maximum": 24 * 30},
        "self_registration": {"type": "boolean"},
        "approval_required": {"type": "boolean"},
        "sso_auto_link": {"type": "boolean"},
        "sso_jit": {"type": "boolean"},
        "default_country_code": {"type": "string", "description": "ISO 3166 alpha-2"},
        "password": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "min_length": {"type": "integer", "minimum": 8, "maximum": 256},
                "min_classes": {"type": "integer", "minimum": 1, "maximum": 4},
                "history": {"type": "integer", "minimum": 0, "maximum": 24},
            },
        },
    },
}


def _page_size(most: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": most}


_AUDIT_FILTERS = [
    *(
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("target", "action", "actor", "result")
    ),
    *(
        {"name": name, "in": "query", "description": "ISO 8601", "schema": {"type": "string"}}
        for name in ("since", "until")
    ),
]
_HANDLE = {"name": "handle", "in": "path", "required": True, "schema": {"type": "string"}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "scimd admin API", "version": "1"},
    "servers": [{"url": "/admin/v1"}],
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": _ERROR, "User": _USER},
    },
    "paths": {
        "/users": {
            "get": {
                "summary": "The users grid: search, filter, sort, page, choose columns",
                "parameters": [
                    *_GRID_FILTERS,
                    {"name": "startIndex", "in": "query", "schema": {"type": "integer"}},
                    {"name": "count", "in": "query", "schema": _page_size(grid.MAX_PAGE)},
                    {
                        "name": "columns",
                        "in": "query",
                        "description": "comma-separated: userType, userName, name, email, "
                        "mobile, accessLocked, lastLogin, failedTries, mfaEnabled, mfaRequired",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": _responses(
                    "a page of users",
                    {
                        "type": "object",
                        "properties": {
                            "totalResults": {"type": "integer"},
                            "startIndex": {"type": "integer"},
                            "users": {"type": "array", "items": _USER_REF},
                        },
                    },
                ),
            },
            "post": {
                "summary": "Create a user (without login access until it is granted)",
                "requestBody": _body({"allOf": [_USER_REF], "required": ["userName"]}),
                "responses": {**_responses("the user", _USER_REF, "201"), "409": _TAKEN},
            },
        },
        "/users/{id}": {
            "parameters": [_ID],
            "get": {"summary": "One user", "responses": _responses("the user", _USER_REF)},
            "patch": {
                "summary": "Change contact and account fields",
                "requestBody": _body(_USER_REF),
                "responses": {**_responses("the user", _USER_REF), "409": _TAKEN},
            },
            "delete": {
                "summary": "Delete a user",
                "parameters": [
                    {
                        "name": "confirm",
                        "in": "query",
                        "required": True,
                        "schema": {"const": "true"},
                    }
                ],
                "responses": _responses("deleted", None, "204"),
            },
        },
        "/users/{id}/actions/{action}": {
            "parameters": [
                _ID,
                {"name": "action", "in": "path", "required": True, "schema": {"enum": ACTIONS}},
            ],
            "post": {
                "summary": "Run an account action",
                "description": "block-login takes {reason}; lock an optional {reason}; "
                "set-password takes {password, forceChange}; copy-access takes {fromUserId}; "
                "auto-reset-password takes {mode: mail-password | mail-link}",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "reason": {"type": "string", "maxLength": REASON_LENGTH},
                                    "password": {"type": "string", "writeOnly": True},
                                    "forceChange": {"type": "boolean"},
                                    "fromUserId": {"type": "string"},
                                    "mode": {"enum": ["mail-password", "mail-link"]},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    **_responses("the user after the action", _USER_REF),
                    "503": {
                        "description": "auto-reset-password: no SMTP server is configured",
                        **_ERROR_CONTENT,
                    },
                },
            },
        },
        "/users/bulk/{action}": {
            "parameters": [
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": ["lock", "unlock", "delete", "approve", "reject"]},
                }
            ],
            "post": {
                "summary": "One action over many users: all or nothing, a result per user",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["ids"],
                        "properties": {
                            "ids": {
                                "type": "array",
                                "items": {"type": "string"},
                                "minItems": 1,
                                "maxItems": MAX_BULK,
                            },
                            "confirm": {"type": "boolean", "description": "required for delete"},
                        },
                    }
                ),
                "responses": {
                    **_responses("every user took the action"),
                    "409": {"description": "nothing changed; results say which users failed"},
                },
            },
        },
        **{
            path: item
            for kind, plural in _CATALOG.items()
            for path, item in _catalog_paths(kind, plural).items()
        },
        "/users/export.csv": {
            "get": {
                "summary": "The grid's users as CSV (same filters, all pages)",
                "parameters": _GRID_FILTERS,
                "responses": _file_responses("text/csv"),
            }
        },
        "/users/{id}/sessions": {
            "parameters": [_ID],
            "get": {"summary": "The user's live sessions", "responses": _responses("sessions")},
        },
        "/users/{id}/sessions/{handle}": {
            "parameters": [_ID, _HANDLE],
            "delete": {"summary": "End a session", "responses": _responses("ended", None, "204")},
        },
        "/users/{id}/api-keys": {
            "parameters": [_ID],
            "get": {"summary": "The user's API keys", "responses": _responses("API keys")},
            "post": {
                "summary": "Create an API key; its secret is in this answer only",
                "requestBody": _body(
                    {"type": "object", "properties": {"name": {"type": "string"}}}
                ),
                "responses": _responses("the key", None, "201"),
            },
        },
        "/users/{id}/api-keys/{handle}": {
            "parameters": [_ID, _HANDLE],
            "delete": {
                "summary": "Revoke an API key",
                "responses": _responses("revoked", None, "204"),
            },
        },
        "/approvals": {
            "get": {"summary": "Accounts waiting for approval", "responses": _responses("users")}
        },
        "/settings": {
            "get": {
                "summary": "The tenant's environment defaults",
                "responses": _responses("the settings", _SETTINGS),
            },
            "put": {
                "summary": "Replace the environment defaults (left out: the default)",
                "requestBody": _body(_SETTINGS),
                "responses": _responses("the settings", _SETTINGS),
            },
        },
        "/imports": {
            "get": {"summary": "Recent import jobs, newest first", "responses": _responses("jobs")},
            "post": {
                "summary": "Import users from a CSV or XLSX file: run now (201) or queue (202)",
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": _IMPORT_FORM}},
                },
                "responses": {
                    **_responses("the job, run to its end", _JOB, "201"),
                    "202": {
                        "description": "the job, queued",
                        "content": {"application/json": {"schema": _JOB}},
                    },
                    "413": {"description": "the file is too large", **_ERROR_CONTENT},
                },
            },
        },
        "/imports/{id}": {
            "parameters": [_NUMBER],
            "get": {
                "summary": "An import job: status, progress, report",
                "responses": _responses("the job", _JOB),
            },
        },
        "/exports/users.csv": {
            "get": {
                "summary": "The tenant's users in the import's columns, as CSV",
                "parameters": [_DATE_FORMAT],
                "responses": _file_responses("text/csv"),
            }
        },
        "/exports/users.xlsx": {
            "get": {
                "summary": "The tenant's users in the import's columns, as an Excel workbook",
                "parameters": [_DATE_FORMAT],
                "responses": _file_responses(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                ),
            }
        },
        "/sso/providers": {
            "get": {
                "summary": "The tenant's identity providers",
                "responses": _responses("providers"),
            }
        },
        "/sso/providers/{name}": {
            "parameters": [_NAME],
            "put": {
                "summary": "Configure an identity provider (the client secret is sealed and never "
                "shown again; left out, the stored one is kept)",
                "requestBody": _body(
                    {
                        "oneOf": [
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["kind", "authority", "clientId"],
                                "properties": {
                                    "kind": {"const": "azure_ad"},
                                    "authority": _HTTPS_URL,
                                    "clientId": _CLIENT_ID,
                                    "clientSecret": _SECRET,
                                    "graphUrl": _HTTPS_URL,
                                },
                            },
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["kind", "issuer", "clientId"],
                                "properties": {
                                    "kind": {"const": "oidc"},
                                    "issuer": _HTTPS_URL,
                                    "clientId": _CLIENT_ID,
                                    "clientSecret": _SECRET,
                                },
                            },
                        ]
                    }
                ),
                "responses": _responses("the provider"),
            },
            "delete": {
                "summary": "Remove an identity provider",
                "responses": _responses("removed", None, "204"),
            },
        },
        "/sso/providers/{name}/login": {
            "parameters": [_NAME],
            "post": {
                "summary": "Start the link wizard's login at Azure AD: open authUri; the "
                "provider returns to /sso/azure/callback, which answers the preview",
                "responses": _responses("the URL to open"),
            },
        },
        "/sso/providers/{name}/snapshots": {
            "parameters": [_NAME],
            "post": {
                "summary": "List an Azure AD directory's users with the app's own credentials "
                "(Microsoft Graph) for the link wizard; answers the first page of the preview",
                "responses": {
                    **_responses("the preview", _PREVIEW, "201"),
                    "502": {"description": "the provider failed", **_ERROR_CONTENT},
                },
            },
        },
        "/sso/snapshots": {
            "post": {
                "summary": "Upload a provider's users (email,object_id CSV) for the link "
                "wizard; answers the first page of the preview",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["provider", "file"],
                                "properties": {
                                    "provider": {**_PROVIDER, "example": "onelogin"},
                                    "file": {"type": "string", "format": "binary"},
                                },
                            }
                        }
                    },
                },
                "responses": _responses("the preview", _PREVIEW, "201"),
            }
        },
        "/sso/snapshots/{id}": {
            "parameters": [_NUMBER],
            "get": {
                "summary": "A page of a provider list with each user's match status",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(_STATUSES)},
                    },
                    {
                        "name": "startIndex",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    {"name": "count", "in": "query", "schema": _page_size(wizard.MAX_PAGE)},
                ],
                "responses": _responses("the preview", _PREVIEW),
            },
        },
        "/sso/links/apply": {
            "post": {
                "summary": "Add and remove links, all or none, with a result per choice",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["provider", "choices"],
                        "properties": {
                            "provider": _PROVIDER,
                            "choices": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": wizard.MAX_CHOICES,
                                "items": {
                                    "type": "object",
                                    "required": ["action", "objectId"],
                                    "properties": {
                                        "action": {"type": "string", "enum": ["add", "remove"]},
                                        "objectId": {"type": "string"},
                                        "userId": {"type": "string"},
                                    },
                                },
                            },
                        },
                    }
                ),
                "responses": {
                    **_responses("a result per choice"),
                    "409": {
                        "description": "nothing changed; a result per choice",
                        **_ERROR_CONTENT,
                    },
                },
            }
        },
        "/sso/links": {
            "get": {
                "summary": "The tenant's links",
                "parameters": [{"name": "provider", "in": "query", "schema": _PROVIDER}],
                "responses": _responses("links"),
            }
        },
        "/sso/links/{provider}/{object_id}": {
            "parameters": [
                {"name": "provider", "in": "path", "required": True, "schema": _PROVIDER},
                {"name": "object_id", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "delete": {"summary": "Remove a link", "responses": _responses("removed", None, "204")},
        },
        "/audit": {
            "get": {
                "summary": "Audit events, newest first; the next page is before the last id",
                "parameters": [
                    *_AUDIT_FILTERS,
                    {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": _responses(
                    "events",
                    {
                        "type": "object",
                        "properties": {"events": {"type": "array", "items": {"type": "object"}}},
                    },
                ),
            }
        },
        "/exports/audit.csv": {
            "get": {
                "summary": "Every event the filters select, oldest first, as CSV (streamed)",
                "parameters": _AUDIT_FILTERS,
                "responses": _file_responses("text/csv"),
            }
        },
        "/exports/audit.jsonl": {
            "get": {
                "summary": "Every event the filters select, oldest first, as JSON lines (streamed)",
                "parameters": _AUDIT_FILTERS,
                "responses": _file_responses("application/x-ndjson"),
            }
        },
    },
}

# Every operation that reads a body refuses one past its limit (1 MB of JSON, or the import's
# file limit) without reading the rest.
for _item in OPENAPI["paths"].values():
    for _operation in _item.values():
        if isinstance(_operation, dict) and "requestBody" in _operation:
            _operation["responses"]["413"] = {
                "description": "the body is too large",
                **_ERROR_CONTENT,
            }
