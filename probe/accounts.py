"""The configured test accounts and the credentials each one sends.

An account has static credentials (`bearer`, `cookie`, `headers`) or a username and password used
with the `[login]` flow. Credentials are attached only through `Accounts.headers(name)`; the HTTP layer
never sends a request outside scope, so they cannot leave it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field, model_validator

from probe.config import Section


class AccountSettings(Section):
    username: str | None = None
    password: str | None = None
    bearer: str | None = None
    cookie: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    role: str = "user"

    @model_validator(mode="after")
    def _has_credentials(self) -> AccountSettings:
        if not (self.bearer or self.cookie or self.headers or (self.username and self.password)):
            raise ValueError("an account needs bearer, cookie, headers, or username and password with [login]")
        return self


CONFIG_SECTIONS = {"accounts": dict[str, AccountSettings]}


@dataclass(frozen=True)
class Session:
    """What one account sends: headers (Authorization, Cookie, custom) and its token if it has one."""

    name: str
    headers: Mapping[str, str]
    token: str | None = None


class Accounts:
    def __init__(self, accounts: Mapping[str, AccountSettings]) -> None:
        self._settings = dict(accounts)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    def settings(self, name: str) -> AccountSettings:
        return self._settings[name]

    async def session(self, name: str) -> Session:
        account = self._settings[name]
        headers = dict(account.headers)
        if account.bearer:
            headers["Authorization"] = f"Bearer {account.bearer}"
        if account.cookie:
            headers["Cookie"] = account.cookie
        return Session(name=name, headers=headers, token=account.bearer)
