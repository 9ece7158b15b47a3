"""Which local account each of a provider's users is, by email, and what stands in the way.

Pure: the caller reads the local side (accounts' emails, existing links) and
hands it in, so the rules can be read and tested here alone.

Each provider user gets one status:

- ``linked``: its object id is already linked, to the account its email names
  (or to an account, where no local email names one);
- ``match``: exactly one account has its email, and neither is linked yet: a
  candidate to link;
- ``no_local_user``: no account has its email;
- ``ambiguous``: several accounts have its email, or several of the
  provider's users share it;
- ``conflict``: its object id is linked to another account, or its account
  is linked to another object id of this provider;
- ``invalid``: no usable email, or an empty or repeated object id.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from directory.values import comparison_key

LINKED, MATCH, NO_LOCAL_USER, AMBIGUOUS, CONFLICT, INVALID = (
    "linked",
    "match",
    "no_local_user",
    "ambiguous",
    "conflict",
    "invalid",
)
STATUSES = (LINKED, MATCH, NO_LOCAL_USER, AMBIGUOUS, CONFLICT, INVALID)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class ProviderUser:
    """One user as a provider lists it: its object id and the email to match on."""

    object_id: str
    email: str | None
    display_name: str | None = None
    line: int | None = None
    """Its line in an uploaded file, for the admin reading the preview."""

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "objectId": self.object_id,
            "email": self.email,
            "displayName": self.display_name,
        }
        if self.line is not None:
            shown["line"] = self.line
        return shown

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ProviderUser:
        return cls(
            object_id=document["objectId"],
            email=document.get("email"),
            display_name=document.get("displayName"),
            line=document.get("line"),
        )


@dataclass(frozen=True)
class Row:
    """A provider user with its status and the account it concerns (linked or candidate)."""

    user: ProviderUser
    status: str
    user_id: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.user.to_json(),
            "status": self.status,
            "userId": self.user_id,
            "detail": self.detail,
        }


def email_key(email: str | None) -> str | None:
    """The form emails are compared in: trimmed and case-folded; None when not an email."""
    if not email or not _EMAIL.fullmatch(email.strip()):
        return None
    return comparison_key(email.strip())


def guest_address(user_principal_name: str) -> str:
    """The real address of an Azure AD guest: ``ann_contoso.com#EXT#@fabrikam.onmicrosoft.com``
    is ``ann@contoso.com`` (the ``@`` of the home address became the last ``_``)."""
    local, marker, _ = user_principal_name.partition("#EXT#")
    if not marker or "_" not in local:
        return user_principal_name
    name, _, domain = local.rpartition("_")
    return f"{name}@{domain}"


def azure_email(graph_user: Mapping[str, Any]) -> str | None:
    """The email of a Microsoft Graph user: ``mail``, else ``userPrincipalName`` (a guest's
    mapped back to the real address), else the first of ``otherMails``."""
    mail = graph_user.get("mail")
    if isinstance(mail, str) and mail.strip():
        return mail.strip()
    upn = graph_user.get("userPrincipalName")
    if isinstance(upn, str) and upn.strip():
        return guest_address(upn.strip())
    others = [m for m in graph_user.get("otherMails") or [] if isinstance(m, str) and m.strip()]
    return others[0].strip() if others else None


def from_graph(graph_user: Mapping[str, Any]) -> ProviderUser:
    return ProviderUser(
        object_id=str(graph_user.get("id") or "").strip(),
        email=azure_email(graph_user),
        display_name=graph_user.get("displayName"),
    )


def match(
    provider_users: Iterable[ProviderUser],
    accounts_by_email: Mapping[str, list[str]],
    links_by_object: Mapping[str, str],
    links_by_account: Mapping[str, str],
) -> list[Row]:
    """A row per provider user, in order.

    ``accounts_by_email``: email key → ids of the accounts with that email.
    ``links_by_object`` / ``links_by_account``: this provider's links, both ways.
    """
    users = list(provider_users)
    emails = Counter(email_key(user.email) for user in users)
    object_ids = Counter(user.object_id for user in users)
    rows: list[Row] = []
    for user in users:
        key = email_key(user.email)
        candidates = accounts_by_email.get(key, []) if key else []
        linked_to = links_by_object.get(user.object_id) if user.object_id else None
        if not user.object_id:
            rows.append(Row(user, INVALID, detail="no object id"))
        elif object_ids[user.object_id] > 1:
            rows.append(Row(user, INVALID, detail="object id repeated in the provider's list"))
        elif linked_to is not None:
            if candidates and linked_to not in candidates:
                rows.append(Row(user, CONFLICT, linked_to, "object id linked to another account"))
            else:
                rows.append(Row(user, LINKED, linked_to))
        elif key is None:
            rows.append(Row(user, INVALID, detail="no usable email"))
        elif emails[key] > 1:
            rows.append(Row(user, AMBIGUOUS, detail=f"{emails[key]} provider users share it"))
        elif not candidates:
            rows.append(Row(user, NO_LOCAL_USER))
        elif len(candidates) > 1:
            rows.append(Row(user, AMBIGUOUS, detail=f"{len(candidates)} accounts have it"))
        elif candidates[0] in links_by_account:
            rows.append(Row(user, CONFLICT, candidates[0], "account linked to another object id"))
        else:
            rows.append(Row(user, MATCH, candidates[0]))
    return rows
