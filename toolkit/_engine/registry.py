"""IntegrationRegistry: the integrations a service knows, as classes or instances.

A registry is an ordinary object (never class-level state), so tests, notebooks
and services each hold their own. Classes are instantiated as ``cls(settings)``
when asked for; instances are used as they are.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from toolkit._engine.contract import Integration
from toolkit._engine.errors import DuplicateIntegrationError, NotAnIntegrationError

logger = logging.getLogger("toolkit")

T = TypeVar("T")

_METHODS = ("is_configured", "validate_config", "fetch")


class IntegrationRegistry:
    """An ordered set of integrations, each registered once under a unique name."""

    def __init__(self) -> None:
        self._entries: list[object] = []

    def register(self, integration: T) -> T:
        """Add a class or an instance and return it unchanged, so it works as a decorator.

        Registering the same object again is a no-op. A class redefined under the same
        module and qualified name (a notebook cell run twice) replaces its older self.
        """
        if any(entry is integration for entry in self._entries):
            return integration
        _check_contract(integration)
        name = _static_name(integration)
        if name is not None:
            for index, entry in enumerate(self._entries):
                if _static_name(entry) != name:
                    continue
                if _is_redefinition(entry, integration):
                    logger.debug("integration %r redefined; replacing the earlier class", name)
                    self._entries[index] = integration
                    return integration
                raise DuplicateIntegrationError(
                    f"integration name {name!r} is already taken by {_describe(entry)};"
                    f" give the new {_describe(integration)} another name"
                )
        self._entries.append(integration)
        return integration

    def unregister(self, name: str) -> None:
        """Remove the integration registered under ``name``, if any."""
        self._entries = [e for e in self._entries if _static_name(e) != name]

    def get_all(self, settings: Mapping[str, Any] | Any | None = None) -> list[Integration]:
        """Every integration as an instance, configured or not (broken constructors skipped)."""
        instances: list[Integration] = []
        for entry in self._entries:
            instance = _instantiate(entry, settings)
            if instance is not None and _named(instance):
                instances.append(instance)
        _check_unique(instances)
        return instances

    def get_configured(self, settings: Mapping[str, Any] | Any | None = None) -> list[Integration]:
        """The instances whose ``is_configured()`` is true.

        Unconfigured integrations are skipped silently (DEBUG only); a partial
        configuration (``validate_config()`` returns a message) logs one WARNING.
        """
        configured: list[Integration] = []
        for instance in self.get_all(settings):
            name = _name_of(instance)
            try:
                warning = instance.validate_config()
                ready = bool(instance.is_configured())
            except Exception as exc:
                logger.warning(
                    "integration %r skipped: its configuration check raised %r", name, exc
                )
                continue
            if warning:
                logger.warning("integration %r is partly configured: %s", name, warning)
            if not ready:
                logger.debug("integration %r is not configured; skipped", name)
                continue
            configured.append(instance)
        return configured

    def names(self) -> list[str]:
        """Names known before instantiation (a name set in ``__init__`` is not known yet)."""
        return [n for n in (_static_name(e) for e in self._entries) if n is not None]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[object]:
        return iter(list(self._entries))

    def __repr__(self) -> str:
        return f"IntegrationRegistry({len(self._entries)} integrations: {', '.join(self.names())})"


def _check_contract(obj: object) -> None:
    """Refuse an object that lacks a member of the contract or whose ``fetch`` is not async."""
    missing = [m for m in _METHODS if not callable(getattr(obj, m, None))]
    if not isinstance(obj, type) and not isinstance(getattr(obj, "name", None), str):
        missing.insert(0, "name: str")
    if missing:
        raise NotAnIntegrationError(
            f"{_describe(obj)} is not an integration: missing {', '.join(missing)}. "
            "An integration needs name: str, is_configured(), validate_config() and async fetch()"
        )
    fetch = getattr(obj, "fetch", None)
    if not inspect.iscoroutinefunction(fetch):
        raise NotAnIntegrationError(
            f"{_describe(obj)}.fetch must be declared 'async def fetch(self)'; got a plain callable"
        )


def _static_name(entry: object) -> str | None:
    """The name known before instantiation: an instance's name or a class attribute."""
    try:
        name = getattr(entry, "name", None)
    except Exception:  # a name that raises is no name (the entry is skipped when built)
        return None
    return name if isinstance(name, str) else None


def _name_of(instance: object) -> str | None:
    """An instance's name, or None when reading it raises or gives no string."""
    try:
        name = instance.name  # type: ignore[attr-defined]
    except Exception:
        return None
    return name if isinstance(name, str) and name else None


def _is_redefinition(old: object, new: object) -> bool:
    """True when ``new`` is the same class defined again (same module and qualified name)."""
    return (
        isinstance(old, type)
        and isinstance(new, type)
        and old.__module__ == new.__module__
        and old.__qualname__ == new.__qualname__
    )


def _instantiate(entry: object, settings: Any) -> Integration | None:
    """The entry as an instance, or None (with a WARNING) when its constructor fails."""
    if not isinstance(entry, type):
        return entry  # type: ignore[return-value]
    try:
        instance = entry(settings)
    except Exception as exc:
        logger.warning("integration %s skipped: its constructor raised %r", _describe(entry), exc)
        return None
    return instance  # type: ignore[no-any-return]


def _named(instance: object) -> bool:
    """True when the instance has a name string; else one WARNING says why it is skipped."""
    try:
        name = instance.name  # type: ignore[attr-defined]
    except AttributeError:
        name = None
    except Exception as exc:
        logger.warning(
            "integration %s skipped: reading its name raised %r", type(instance).__qualname__, exc
        )
        return False
    if not isinstance(name, str) or not name:
        logger.warning("integration %s skipped: instance has no name string", _describe(instance))
        return False
    return True


def _check_unique(instances: list[Integration]) -> None:
    """Refuse two instances with one name: a breaker is keyed by name and must not be shared."""
    seen: dict[str | None, Integration] = {}
    for instance in instances:
        other = seen.setdefault(_name_of(instance), instance)
        if other is not instance:
            raise DuplicateIntegrationError(
                f"integration name {instance.name!r} is used by both {_describe(other)} and "
                f"{_describe(instance)}; names must be unique"
            )


def _describe(obj: object) -> str:
    """A short, readable name for an object in an error message."""
    if isinstance(obj, type):
        return f"class {obj.__qualname__}"
    name = _static_name(obj)
    if name is not None:
        return f"{type(obj).__qualname__}(name={name!r})"
    try:
        return repr(obj)[:80]
    except Exception:
        return f"a {type(obj).__qualname__}"
