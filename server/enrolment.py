"""Self-service second factor: a person starts a TOTP enrolment, confirms it with a code, and from
then on every login needs a code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dcops.core.errors import AccessDenied, InputError
from dcops.server import totp
from dcops.server.authentication import needs_second_factor, new_recovery_codes

if TYPE_CHECKING:
    from dcops.server.access_audit import Caller
    from dcops.server.authentication import Authenticator, Principal

PENDING_SECONDS = 600  # how long a shown secret waits for its confirming code
PROVED_SECOND_FACTOR = ("+totp", "+recovery")


@dataclass(frozen=True)
class EnrolmentState:
    """Where a person stands: enrolled, an enrolment waiting, and whether their roles need one."""

    enrolled: bool
    pending: bool
    required: bool

    def as_dict(self) -> dict[str, bool]:
        """As the API returns it."""
        return {"enrolled": self.enrolled, "pending": self.pending, "required": self.required}


def state_of(auth: Authenticator, who: Principal) -> EnrolmentState:
    """Whether the caller has a second factor, one waiting for confirmation, and needs one."""
    account = auth.store.account(who.user)
    pending = auth.store.pending_enrolment(who.user)
    waiting = pending is not None and pending[1] + PENDING_SECONDS > auth.clock.now()
    return EnrolmentState(
        enrolled=account is not None and account.totp_secret is not None,
        pending=waiting,
        required=needs_second_factor(who.roles),
    )


def begin(auth: Authenticator, who: Principal, caller: Caller) -> dict[str, str]:
    """A new TOTP secret for the caller, as an otpauth URI and a QR code; not active until confirmed.

    Someone who already has a second factor must have used it for this login, so a stolen
    password alone can never replace it.
    """
    account = auth.store.account(who.user)
    has_one = account is not None and account.totp_secret is not None
    if has_one and not who.method.endswith(PROVED_SECOND_FACTOR):
        raise AccessDenied(
            "更换第二因子需先用现有第二因子登录 / replacing a second factor needs a login "
            "made with the current one (password and code)"
        )
    secret = totp.new_secret()
    auth.store.begin_enrolment(who.user, secret, auth.clock.now())
    uri = totp.otpauth_uri(secret, who.user, f"dcops-{auth.site.name}")
    auth.log.record("auth.totp.begin", who.user, caller, method=who.method, ok=True)
    return {"otpauth_uri": uri, "qr_svg": totp.qr_svg_data_uri(uri),
            "expires": str(int(auth.clock.now() + PENDING_SECONDS))}  # fmt: skip


def confirm(auth: Authenticator, who: Principal, code: str, caller: Caller) -> list[str]:
    """Turn the waiting secret on after a code from it; the recovery codes, shown this once."""
    now = auth.clock.now()
    pending = auth.store.pending_enrolment(who.user)
    if pending is None or pending[1] + PENDING_SECONDS <= now:
        raise InputError(
            "没有待确认的第二因子 / no enrolment is waiting (or it is older than 10 minutes); "
            "start one with POST /api/v1/auth/totp"
        )
    secret = pending[0]
    step = totp.matching_step(secret, code.strip()[:32], now, 0)
    if step is None:
        auth.log.record(
            "auth.totp.confirm", who.user, caller, method=who.method, ok=False,
            reason="wrong code",
        )  # fmt: skip
        raise InputError(
            "动态口令不正确 / the code does not match the new secret; check the authenticator "
            "app's clock and enter the current 6-digit code"
        )
    codes = new_recovery_codes()
    auth.store.set_totp(who.user, secret, codes)
    auth.store.used_step(who.user, step)  # the confirming code cannot log in again
    if "read" not in who.scopes:
        auth.store.revoke(who.token.id, now)  # an enrol-only login has done its one job
    auth.log.record(
        "auth.totp.confirm", who.user, caller, method=who.method, ok=True,
        details={"recovery_codes": len(codes)},
    )  # fmt: skip
    return codes
