"""API models for volunteers' accounts: invitations, claiming, tokens, passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, StrictBool, StrictStr

from verifier.accounts.invitations import (
    CODE_LENGTH,
    INVITATION_DAYS,
    ClaimInput,
    NewInvitation,
    claim_url,
)
from verifier.api.schemas import InputModel, OutputModel, Text, local

# a password is any text up to this length; the rules (length, variety) are the service's
Password = StrictStr
PASSWORD_MAX = 1024
LOGIN_DESCRIPTION = (
    "An e-mail address, or a mainland mobile number (11 digits starting with 1; spaces, dashes "
    "and +86 are ignored). Stored in lower case / digits only."
)


class InvitationOut(OutputModel):
    """An invitation code, shown this once: only its keyed hash is stored."""

    id: int
    volunteer_id: int
    code: str = Field(
        description=f"{CODE_LENGTH} characters grouped XXXX-XXXX-XXXX; typed in any case, with "
        "or without spaces and dashes.",
        examples=["K7PM-3QXR-9HWT"],
    )
    expires_at: datetime = Field(description=f"{INVITATION_DAYS} days after it was made.")
    claim_url: str = Field(description="Where the volunteer enters the code.")
    sent_to: str | None = Field(
        description="The masked phone or login the code was also sent to, or null when the "
        "volunteer has no contact on file."
    )

    @classmethod
    def of(cls, made: NewInvitation) -> InvitationOut:
        expires = local(made.expires_at)
        assert expires is not None
        return cls(
            id=made.invitation.id,
            volunteer_id=made.invitation.volunteer_id,
            code=made.code,
            expires_at=expires,
            claim_url=claim_url(),
            sent_to=made.sent_to,
        )


class ClaimIn(InputModel):
    """Claim a volunteer's account with an invitation code."""

    code: Text = Field(max_length=64, examples=["K7PM-3QXR-9HWT"])
    login: Text = Field(max_length=254, description=LOGIN_DESCRIPTION, examples=["13800138000"])
    password: Password = Field(
        max_length=PASSWORD_MAX, description="At least 10 characters, not too simple."
    )
    login_code: Text = Field(
        max_length=32,
        description=(
            "The code sent to `login` by `POST /api/v1/account/claim/login-code`: it proves the "
            "login is the claimant's."
        ),
        examples=["48213907"],
    )
    accept_privacy_notice: StrictBool = Field(
        False,
        description="Must be true: the volunteer read and accepts the privacy notice (/privacy).",
    )
    locale: Literal["zh", "en"] = Field(
        "zh", description="The language of the messages sent to the volunteer."
    )

    def to_input(self) -> ClaimInput:
        return ClaimInput(
            code=self.code,
            login=self.login,
            password=self.password,
            accept_privacy_notice=self.accept_privacy_notice,
            login_code=self.login_code,
            locale=self.locale,
        )


class LoginCodeIn(InputModel):
    """Ask for the code that proves a claimant's login (the first step of a claim)."""

    code: Text = Field(max_length=64, examples=["K7PM-3QXR-9HWT"])
    login: Text = Field(max_length=254, description=LOGIN_DESCRIPTION, examples=["13800138000"])
    locale: Literal["zh", "en"] = Field("zh", description="The language of the message.")


class LoginCodeOut(OutputModel):
    sent_to: str = Field(description="The login, masked.", examples=["138****8000"])
    valid_minutes: int = Field(description="The code is valid at least this long.")


class ClaimOut(OutputModel):
    user_id: int
    login: str
    role: str = Field(examples=["volunteer"])


class TokenIn(InputModel):
    """Sign in with a login and password for an API token."""

    login: Text = Field(max_length=254, description=LOGIN_DESCRIPTION)
    password: Password = Field(max_length=PASSWORD_MAX)
    name: Text = Field("", max_length=100, description="A name to recognise the token by.")


class TokenOut(OutputModel):
    token: str = Field(description="Shown once; send it as `Authorization: Bearer ...`.")
    login: str
    role: str


class PasswordIn(InputModel):
    """Change the caller's password."""

    current_password: Password = Field(max_length=PASSWORD_MAX)
    new_password: Password = Field(
        max_length=PASSWORD_MAX, description="At least 10 characters, not too simple."
    )
