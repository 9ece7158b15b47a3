"""Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas.

Generated from ``scim.provider.PROVIDER``, so they always describe what is
served. They need no authentication: IdPs read them before they have a token
configured, and they reveal nothing about any tenant.
"""

from __future__ import annotations

from typing import Any

from scim2_models import NotFoundException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scim import http
from scim.provider import PROVIDER, SERVICE_PROVIDER_CONFIG
from scim.responses import ScimResponse
from scim.routes.resources import Listing, list_response, scim_errors


def _located(document: dict[str, Any], resource_type: str, location: str) -> dict[str, Any]:
    return {**document, "meta": {"resourceType": resource_type, "location": location}}


def _resource_types(base: str) -> list[dict[str, Any]]:
    return [
        _located(rt.model_dump(), "ResourceType", f"{base}/ResourceTypes/{rt.id}")
        for rt in PROVIDER.resource_types
    ]


def _schemas(base: str) -> list[dict[str, Any]]:
    return [
        _located(schema.model_dump(), "Schema", f"{base}/Schemas/{schema.id}")
        for schema in PROVIDER.schemas
    ]


def _one(documents: list[dict[str, Any]], id: str, kind: str) -> ScimResponse:
    for document in documents:
        if document["id"] == id:
            return ScimResponse(document)
    raise NotFoundException(detail=f"{kind} {id!r} not found")


async def service_provider_config(request: Request) -> Response:
    base = http.base_url(request)
    return ScimResponse(
        _located(
            SERVICE_PROVIDER_CONFIG.model_dump(),
            "ServiceProviderConfig",
            f"{base}/ServiceProviderConfig",
        )
    )


async def resource_types(request: Request) -> Response:
    found = _resource_types(http.base_url(request))
    return list_response(Listing(total=len(found), resources=found), 1)


async def resource_type(request: Request) -> Response:
    id = request.path_params["id"]
    return _one(_resource_types(http.base_url(request)), id, "ResourceType")


async def schemas(request: Request) -> Response:
    found = _schemas(http.base_url(request))
    return list_response(Listing(total=len(found), resources=found), 1)


async def schema(request: Request) -> Response:
    return _one(_schemas(http.base_url(request)), request.path_params["id"], "Schema")


ROUTES = [
    Route("/ServiceProviderConfig", scim_errors(service_provider_config), methods=["GET"]),
    Route("/ResourceTypes", scim_errors(resource_types), methods=["GET"]),
    Route("/ResourceTypes/{id}", scim_errors(resource_type), methods=["GET"]),
    Route("/Schemas", scim_errors(schemas), methods=["GET"]),
    Route("/Schemas/{id:path}", scim_errors(schema), methods=["GET"]),
]
