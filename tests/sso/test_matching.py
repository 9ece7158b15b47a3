"""The match statuses, and which email a Microsoft Graph user is matched on."""

from __future__ import annotations

import pytest

from sso.matching import (
    AMBIGUOUS,
    CONFLICT,
    INVALID,
    LINKED,
    MATCH,
    NO_LOCAL_USER,
    ProviderUser,
    azure_email,
    email_key,
    guest_address,
    match,
)


def _statuses(users, by_email, by_object=None, by_account=None):
    rows = match(users, by_email, by_object or {}, by_account or {})
    return [(row.status, row.user_id) for row in rows]


def test_each_status():
    users = [
        ProviderUser("o-linked", "ann@x.com"),
        ProviderUser("o-match", " Bob@X.com "),
        ProviderUser("o-none", "nobody@x.com"),
        ProviderUser("o-amb", "shared@x.com"),
        ProviderUser("o-taken", "cy@x.com"),
        ProviderUser("o-elsewhere", "dee@x.com"),
        ProviderUser("", "eve@x.com"),
        ProviderUser("o-bad", "not an email"),
        ProviderUser("o-none-email", None),
    ]
    by_email = {
        "ann@x.com": ["u-ann"],
        "bob@x.com": ["u-bob"],
        "shared@x.com": ["u-1", "u-2"],
        "cy@x.com": ["u-cy"],
        "dee@x.com": ["u-dee"],
        "eve@x.com": ["u-eve"],
    }
    by_object = {"o-linked": "u-ann", "o-elsewhere": "u-other"}
    by_account = {"u-ann": "o-linked", "u-cy": "o-old", "u-other": "o-elsewhere"}
    assert _statuses(users, by_email, by_object, by_account) == [
        (LINKED, "u-ann"),
        (MATCH, "u-bob"),
        (NO_LOCAL_USER, None),
        (AMBIGUOUS, None),
        (CONFLICT, "u-cy"),  # the account has another object id of this provider
        (CONFLICT, "u-other"),  # the object id is linked to another account
        (INVALID, None),
        (INVALID, None),
        (INVALID, None),
    ]


def test_several_provider_users_with_one_email_are_ambiguous_and_repeats_invalid():
    users = [
        ProviderUser("o-1", "same@x.com"),
        ProviderUser("o-2", "SAME@x.com"),
        ProviderUser("o-3", "a@x.com"),
        ProviderUser("o-3", "b@x.com"),
    ]
    by_email = {"same@x.com": ["u-1"], "a@x.com": ["u-a"], "b@x.com": ["u-b"]}
    assert [status for status, _ in _statuses(users, by_email)] == [
        AMBIGUOUS,
        AMBIGUOUS,
        INVALID,
        INVALID,
    ]


def test_a_linked_object_id_whose_email_no_longer_matches_stays_linked():
    users = [ProviderUser("o-1", "renamed@x.com")]
    assert _statuses(users, {}, {"o-1": "u-1"}, {"u-1": "o-1"}) == [(LINKED, "u-1")]


@pytest.mark.parametrize(
    ("graph_user", "expected"),
    [
        (
            {"mail": "ann@contoso.com", "userPrincipalName": "ann@tenant.onmicrosoft.com"},
            "ann@contoso.com",
        ),
        ({"mail": None, "userPrincipalName": "bob@contoso.com"}, "bob@contoso.com"),
        (
            {"mail": "", "userPrincipalName": "cy_fabrikam.com#EXT#@contoso.onmicrosoft.com"},
            "cy@fabrikam.com",
        ),
        (
            {"userPrincipalName": "first_last_sub.example.org#EXT#@t.onmicrosoft.com"},
            "first_last@sub.example.org",
        ),
        ({"mail": None, "userPrincipalName": "", "otherMails": ["", "dee@x.com"]}, "dee@x.com"),
        ({"otherMails": []}, None),
    ],
)
def test_the_email_of_a_graph_user(graph_user, expected):
    assert azure_email(graph_user) == expected


def test_guest_addresses_and_email_keys():
    assert guest_address("plain@contoso.com") == "plain@contoso.com"
    assert (
        guest_address("nounderscore#EXT#@t.onmicrosoft.com")
        == "nounderscore#EXT#@t.onmicrosoft.com"
    )
    assert email_key("  Ann@Contoso.COM ") == email_key("ann@contoso.com")
    assert email_key("ann") is None and email_key("") is None and email_key(None) is None
