"""Sending mail (password resets) through the SMTP server the settings name.

Mail is sent after the change it announces has committed, so nobody is mailed a
password that was rolled back; if sending then fails, the caller is told (502)
and can run the action again.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from scimd.errors import ApiError


class MailFailed(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(502, "mail_failed", detail)


@dataclass(frozen=True)
class Mailer:
    host: str | None
    port: int = 25
    sender: str = "scimd@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.host)

    def send(self, to: str, subject: str, text: str) -> None:
        if not self.host:
            raise ApiError(503, "mail_not_configured", "No SMTP server is configured")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # The reason, never the message: it may hold a password.
            raise MailFailed(f"The mail to {to} could not be sent: {type(exc).__name__}") from exc
