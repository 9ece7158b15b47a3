"""Recognising the filters a unique index answers (``scim.filters.equality_value``)."""

from __future__ import annotations

import pytest

from scim.filters import equality_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('userName eq "ann@x.example"', "ann@x.example"),
        ('username EQ "Ann"', "Ann"),
        (' userName eq "say \\"hi\\""  ', 'say "hi"'),
        ('userName eq "caf\\u00e9"', "café"),
        ('userName eq ""', ""),
    ],
)
def test_exact_equalities_are_recognised(text, value):
    assert equality_value(text, "userName") == value


@pytest.mark.parametrize(
    "text",
    [
        'userName ne "ann"',
        'userName eq "ann" and active eq true',
        'userName eq "ann" or userName eq "bob"',
        "userName eq ann",  # a bare value: the general path's leniency handles it
        'displayName eq "ann"',
        'emails[value eq "ann"]',
        'userName eq "a\\u0000b"',  # NUL: the general path refuses it
        'userName eq "\\ud800"',  # a lone surrogate
        'userName eq "unterminated',
        'not (userName eq "ann")',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ann"',
    ],
)
def test_anything_else_takes_the_general_path(text):
    assert equality_value(text, "userName") is None
