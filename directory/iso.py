"""ISO 3166 country and ISO 4217 currency codes, checked against pycountry's tables."""

from __future__ import annotations

import pycountry

from directory.errors import InvalidValue


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased (``gb`` → ``GB``)."""
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidValue(f"{value!r} is not an ISO 3166 country code (e.g. GB, US, DE)")
    return code


def currency_code(value: str) -> str:
    """An ISO 4217 alphabetic code, upper-cased (``gbp`` → ``GBP``)."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidValue(f"{value!r} is not an ISO 4217 currency code (e.g. GBP, USD, EUR)")
    return code
