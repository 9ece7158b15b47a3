"""A provider's users as a file of ``email,object_id`` (OneLogin, Okta and others export one).

The header row is required and names the two columns (any case and spacing;
``objectid`` and ``object id`` too); other columns are ignored. A BOM, ``;``
or tab delimiters and quoted values are handled by the spreadsheet reader.
"""

from __future__ import annotations

from directory import sheets
from directory.errors import InvalidValue
from sso.matching import ProviderUser

MAX_ROWS = 200_000
_EMAIL_HEADERS = {"email", "mail", "emailaddress"}
_OBJECT_ID_HEADERS = {"object_id", "objectid", "object-id"}


def read_users(data: bytes, filename: str = "users.csv") -> list[ProviderUser]:
    """The file's users in order; ``InvalidValue`` for a file without the two columns."""
    if not filename.lower().endswith(".csv"):
        filename = "users.csv"  # the content decides: this reader takes CSV only
    sheet = sheets.read_sheet(data, filename, max_rows=MAX_ROWS)
    keys = [sheets.header_key(header) for header in sheet.headers]
    try:
        email_at = next(i for i, key in enumerate(keys) if key in _EMAIL_HEADERS)
        object_at = next(i for i, key in enumerate(keys) if key in _OBJECT_ID_HEADERS)
    except StopIteration:
        raise InvalidValue(
            "the file needs a header row naming its email and object_id columns"
        ) from None
    users = []
    for number, cells in zip(sheet.row_numbers, sheet.rows, strict=True):
        email, object_id = cells[email_at], cells[object_at]
        users.append(
            ProviderUser(
                object_id="" if object_id is None else str(object_id).strip(),
                email=None if email is None else str(email).strip(),
                line=number,
            )
        )
    return users
