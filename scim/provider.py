"""What this SCIM service is: its resource models, its leniency, its capabilities.

The discovery endpoints are generated from these models (scim2-models'
``ScimProvider``), never typed by hand, so what is advertised is what is served.
"""

from __future__ import annotations

from typing import Any

from scim2_models import AuthenticationScheme as Scheme
from scim2_models import (
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Pagination,
    Patch,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from scim.extensions import AccountExtension

UserModel: Any = User[EnterpriseUser | AccountExtension]
GroupModel: Any = Group

MAX_PAGE_SIZE = 1000
MAX_BULK_OPERATIONS = 1000
MAX_BULK_BYTES = 4 * 1024 * 1024
DEFAULT_PAGE_SIZE = 100

# Real identity providers depart from RFC 7644 in known ways (shared
# IDP_NOTES): unknown schema URNs and attributes are dropped instead of
# refused, Entra's `remove` with a value selects what to remove, and a
# filtered path that matches nothing creates the entry it describes.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

SERVICE_PROVIDER_CONFIG = ServiceProviderConfig(
    documentation_uri="https://github.com/scimd/scimd#readme",
    patch=Patch(supported=True),
    bulk=Bulk(supported=True, max_operations=MAX_BULK_OPERATIONS, max_payload_size=MAX_BULK_BYTES),
    filter=Filter(supported=True, max_results=MAX_PAGE_SIZE),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=True),
    pagination=Pagination(
        cursor=True,
        index=True,
        default_pagination_method=Pagination.DefaultPaginationMethod.index,
        default_page_size=DEFAULT_PAGE_SIZE,
        max_page_size=MAX_PAGE_SIZE,
    ),
    etag=ETag(supported=True),
    authentication_schemes=[
        Scheme(
            type=Scheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A tenant token created with `scimd token create`",
            primary=True,
        )
    ],
)


def _provider(policy: ScimPolicy) -> ScimProvider:
    return ScimProvider(
        models=[User, EnterpriseUser, AccountExtension, Group],
        resource_types=[ResourceType.from_resource(UserModel), ResourceType.from_resource(Group)],
        config=SERVICE_PROVIDER_CONFIG,
        policy=policy,
    )


PROVIDER = _provider(POLICY)
"""The service as scimd runs it by default: lenient where real IdPs need it."""

STRICT_PROVIDER = _provider(ScimPolicy())
"""The same service reading payloads strictly (``SCIMD_SCIM_STRICT=1``): unknown
attributes and schema URNs are refused, as §5.3 of the interoperability profile asks."""
