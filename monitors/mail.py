"""The e-mail channel: SMTP with STARTTLS (certificate checked), login from a secret reference."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from dcops.core.errors import OperationFailed
from dcops.monitors.channel import Notice


def mail_message(notice: Notice, sender: str) -> EmailMessage:
    """The notice as a plain-text UTF-8 e-mail whose Message-ID carries the notice key."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(r.email for r in notice.recipients if r.email)
    mail["Subject"] = notice.subject
    mail["Message-ID"] = make_msgid(idstring=notice.key, domain=sender.split("@")[1])
    mail["X-Dcops-Delivery"] = notice.key
    mail.set_content(notice.text)
    return mail


class MailChannel:
    """Sends through one relay; refuses to log in or send over an unencrypted connection."""

    def __init__(
        self,
        name: str,
        smarthost: str,
        sender: str,
        *,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10,
    ) -> None:
        self.name = name
        self.host, _, port = smarthost.rpartition(":")
        self.port = int(port)
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self._password = password
        self.ca_file = ca_file
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        """Connect, upgrade with STARTTLS, log in if configured, send to every recipient's e-mail."""
        mail = mail_message(notice, self.sender)
        if not mail["To"]:
            names = ", ".join(r.user for r in notice.recipients) or "nobody"
            raise OperationFailed(f"e-mail {self.name}: no address for {names}")
        where = f"e-mail relay {self.host}:{self.port} ({self.name})"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    context = ssl.create_default_context(cafile=self.ca_file)
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(mail)
        except smtplib.SMTPNotSupportedError:
            raise OperationFailed(f"{where} does not offer STARTTLS") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise OperationFailed(f"{where} refused the login: {exc.smtp_code}") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise OperationFailed(f"{where}: {type(exc).__name__}: {exc}") from None
