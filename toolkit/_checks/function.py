"""``@toolkit.integration``: an async function becomes an integration.

The function returns data (wrapped in a successful ``IntegrationResult``), returns an
``IntegrationResult`` of its own, or raises (a failure, counted by the runner).
``requires`` names the environment variables it needs; a function with one
parameter receives their values as a mapping.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, overload

from toolkit._checks import options as opt
from toolkit._checks.settings import EnvSettings, FromEnv, check_name
from toolkit._engine.errors import NotAnIntegrationError
from toolkit._engine.redact import redact_data
from toolkit._engine.results import IntegrationResult

Fetcher = Callable[..., Awaitable[Any]]


class FunctionIntegration(FromEnv):
    """An integration whose ``fetch`` awaits a function; calling it calls the function."""

    def __init__(
        self,
        func: Fetcher,
        *,
        name: str | None = None,
        display_name: str | None = None,
        requires: Iterable[str] = (),
        secret: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not inspect.iscoroutinefunction(func):
            raise NotAnIntegrationError(f"@integration needs an 'async def' function, got {func!r}")
        params = [
            p for p in inspect.signature(func).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]  # fmt: skip
        if len(params) > 1:
            raise NotAnIntegrationError(
                f"@integration function {func.__qualname__} takes {len(params)} arguments; "
                "it takes none, or one: the mapping of its required settings"
            )
        self._func = func
        self._wants_settings = len(params) == 1
        self.name = opt.name(name if name is not None else func.__name__)
        self.display_name = display_name or self.name
        needed = [check_name(n, "a required setting") for n in opt.names(requires, "requires")]
        self.settings = EnvSettings(
            needed, secret=opt.names(secret, "secret", secret=True), env=env
        )
        functools.update_wrapper(self, func)

    async def fetch(self) -> IntegrationResult:
        """Await the function and wrap what it returns (its secret settings masked in data)."""
        value = await self()
        result = (
            value
            if isinstance(value, IntegrationResult)
            else IntegrationResult(self.name, True, value)
        )
        secrets = self.secrets()
        if secrets and result.data is not None:
            result = replace(result, data=redact_data(result.data, secrets, mask_keys=False))
        return result

    def __call__(self) -> Awaitable[Any]:
        """The function's own coroutine (given its settings when it takes them)."""
        if self._wants_settings:
            env = self.settings.env
            return self._func({n: env.get(n, "") for n in self.settings.needed})
        return self._func()

    def __repr__(self) -> str:
        return f"<integration {self.name!r} from {self._func.__qualname__}>"


@overload
def integration(func: Fetcher, /) -> FunctionIntegration: ...
@overload
def integration(
    *,
    name: str | None = None,
    display_name: str | None = None,
    requires: Iterable[str] = (),
    secret: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> Callable[[Fetcher], FunctionIntegration]: ...
def integration(
    func: Fetcher | None = None,
    /,
    *,
    name: str | None = None,
    display_name: str | None = None,
    requires: Iterable[str] = (),
    secret: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> FunctionIntegration | Callable[[Fetcher], FunctionIntegration]:
    """Turn an async function into an integration: ``@integration`` or ``@integration(name=...)``.

    ``requires`` lists environment variables the function needs (unset: skipped
    silently; some unset: one warning); ``secret`` names those whose values are
    masked, besides names that look secret (``*_TOKEN``, ``*_KEY``, ``*_PASSWORD``).
    """

    def wrap(f: Fetcher) -> FunctionIntegration:
        return FunctionIntegration(
            f, name=name, display_name=display_name, requires=requires, secret=secret, env=env
        )

    return wrap if func is None else wrap(func)
