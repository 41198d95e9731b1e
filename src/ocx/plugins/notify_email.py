"""The built-in `email` notifier: one mail per message through an SMTP server (smtplib),
STARTTLS by default, SMTP over TLS with `ssl = true`, bounded by the channel's `timeout`.

smtplib, ssl and the email package are imported only when a mail is sent."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ocx.plugin_api import (
    ChannelDown,
    OcxError,
    OutboundMessage,
    channel_secret,
    message_id,
    now,
)

from .notify_base import DEFAULT_TIMEOUT, Deadline, channel_timeout, flag, one_line


def _login(smtp: Any, username: str, password: str) -> None:
    """smtplib.login, which sends only ASCII credentials; AUTH PLAIN carries UTF-8 ones
    (RFC 4616), so non-ASCII credentials go that way by hand."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    import base64
    import smtplib

    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise OcxError("the SMTP server does not offer AUTH PLAIN, needed for a non-ASCII "
                       "username or password")  # fmt: skip
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _smtp_failure(exc: OSError, where: str, deadline: Deadline, recipient: str | None,
                  sender: str, username: Any) -> OcxError:  # fmt: skip
    """The one-line error for a failed SMTP attempt: a ChannelDown when the server could not
    be reached or did not answer by the deadline, a plain OcxError when it answered no."""
    import smtplib
    import ssl

    if deadline.passed or isinstance(exc, TimeoutError):
        return ChannelDown(f"SMTP server {where} did not answer within {deadline.timeout:g} s")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc):
            return OcxError(f"SMTP server {where} does not offer STARTTLS "
                            "(set starttls = false to send without TLS)")  # fmt: skip
        return OcxError(f"SMTP server {where} does not accept the international address "
                        f"{recipient} (no SMTPUTF8)")  # fmt: skip
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return OcxError(f"SMTP server {where} refused the login of {username}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return OcxError(f"SMTP server {where} refused the recipient {recipient}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return OcxError(f"SMTP server {where} refused the sender {sender}")
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)  # fmt: skip
        return OcxError(f"SMTP server {where} answered {exc.smtp_code} {one_line(reason)}")
    if isinstance(exc, smtplib.SMTPException):
        return OcxError(f"SMTP server {where} failed: {one_line(str(exc))}")
    if isinstance(exc, ssl.SSLError):
        return OcxError(f"TLS with SMTP server {where} failed: {exc.reason or exc}")
    reason = exc.strerror or type(exc).__name__
    return ChannelDown(f"cannot reach SMTP server {where}: {reason}")


def send_email(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
    """Send one mail through SMTP: STARTTLS by default, SMTP over TLS with `ssl = true`."""
    if not message.recipient:
        raise OcxError("no email address for recipient")
    host = str(channel.get("host") or "")
    sender = str(channel.get("from") or "")
    if not host or not sender:
        raise OcxError("an email channel needs host and from")
    use_ssl = flag(channel, "ssl", False)
    starttls = flag(channel, "starttls", not use_ssl)
    port = channel.get("port", 465 if use_ssl else 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise OcxError("port must be a number from 1 to 65535")
    timeout = channel_timeout(channel, DEFAULT_TIMEOUT)
    username = channel.get("username")
    password = channel_secret(channel, "password")
    if username and password is None:
        raise OcxError("username is set but password_env is not")

    import smtplib
    import socket
    import ssl
    from email.message import EmailMessage
    from email.utils import formatdate

    mail = EmailMessage()
    try:
        mail["From"] = sender
        mail["To"] = message.recipient
        mail["Subject"] = " ".join(message.subject.split())
        mail["Date"] = formatdate(now().timestamp(), localtime=False)  # honours OCX_NOW
        mail["Message-ID"] = message_id(message.key)
        mail["X-Ocx-Key"] = message.key
        mail["X-Ocx-Kind"] = message.kind
    except (ValueError, TypeError) as exc:  # a header with a line break, a bad address
        raise OcxError(f"cannot build the mail: {one_line(str(exc))}") from None
    mail.set_content(message.body, charset="utf-8")

    where = f"{host}:{port}"
    deadline = Deadline(timeout)
    # Not connected yet: the banner may drip too, so the watchdog starts before connecting.
    smtp = smtplib.SMTP(timeout=timeout)
    smtp._host = host  # what connect() would set: TLS checks the certificate against it
    deadline.watch(lambda: smtp.sock)
    try:
        context = ssl.create_default_context()
        sock = socket.create_connection((host, port), timeout=deadline.remaining())
        if use_ssl:
            sock.settimeout(deadline.remaining())  # bounds the whole handshake
            sock = context.wrap_socket(sock, server_hostname=host)
        smtp.sock = sock
        code, answer = smtp.getreply()
        if code != 220:
            raise smtplib.SMTPConnectError(code, answer)
        if starttls and not use_ssl:
            sock.settimeout(deadline.remaining())
            smtp.starttls(context=context)
        if username and password is not None:
            _login(smtp, str(username), password)
        smtp.send_message(mail)
        with contextlib.suppress(OSError):  # the mail is accepted: a lost QUIT cannot undo it
            smtp.quit()
    except OSError as exc:  # smtplib's and ssl's errors, timeouts, refused connections
        raise _smtp_failure(exc, where, deadline, message.recipient, sender, username) from None
    finally:
        deadline.cancel()
        smtp.close()
    return f"sent to {message.recipient} via {where}"


def check_email(channel: Mapping[str, Any]) -> list[str]:
    problems = []
    port = channel.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 0 < port < 65536):  # fmt: skip
        problems.append("port must be a number from 1 to 65535")
    for key in ("starttls", "ssl"):
        if key in channel and not isinstance(channel[key], bool):
            problems.append(f"{key} must be true or false")
    if channel.get("username") and not channel.get("password_env"):
        problems.append("username is set but password_env is not")
    return problems


def email_address(person: Any) -> str | None:
    """An email channel addresses a team member's or a customer's email, never a handle."""
    return person.email
