"""Which server to talk to: the one place that decides "no key, no URL -> the embedded simulator".

Used by the widget and the SDK demo, so the rule is written once:

- a ready ``ClientConfig`` is used as it is;
- a ``url`` means that server, with only an explicitly given ``api_key`` (a custom URL never receives a
  key from the environment, so ``OPENAI_API_KEY`` cannot leak to a third-party server);
- otherwise ``OPENAI_API_KEY`` (argument or environment) means OpenAI's GA endpoint;
- with none of these, the bundled simulator: the caller starts it (``rtwidget.server.serve``) and builds
  the connection's config with :meth:`Backend.config_for`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from rtwidget.client.config import DEFAULT_MODEL, OPENAI_API_KEY_ENV, ClientConfig, Dialect

__all__ = ["SIMULATOR_LABEL", "Backend", "resolve_backend"]

SIMULATOR_LABEL = "local simulator"


@dataclass(frozen=True, repr=False)
class Backend:
    """Where a connection goes.

    Attributes:
        embedded: the bundled simulator (no key and no URL were given).
        config: the connection's config, or None when embedded (see :meth:`config_for`).
        label: what to show: ``"local simulator"``, ``"api.openai.com"`` or the server's host name
            (host only: a query string may carry a key).
        model: the model to ask for.
        dialect: ``"ga"`` or ``"beta"``.
    """

    embedded: bool
    config: ClientConfig | None
    label: str
    model: str
    dialect: Dialect

    def config_for(self, simulator_url: str | None = None) -> ClientConfig:
        """The connection's config: this backend's, or the embedded simulator's at ``simulator_url``."""
        if self.config is not None:
            return self.config
        if simulator_url is None:
            raise ValueError("the embedded simulator's URL is needed: start it with rtwidget.server.serve()")
        return ClientConfig(url=simulator_url, model=self.model, dialect=self.dialect, provider="custom")

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credentials this backend carries (to redact wherever text is shown)."""
        return self.config.secrets() if self.config is not None else ()

    def __repr__(self) -> str:
        return f"Backend({self.label!r}, model={self.model!r}, dialect={self.dialect!r})"


def resolve_backend(
    url: str | None = None,
    api_key: str | None = None,
    config: ClientConfig | None = None,
    *,
    model: str | None = None,
    dialect: Dialect = "ga",
    env: Mapping[str, str] | None = None,
) -> Backend:
    """Decide where to connect from what the user gave (see the module docstring for the rules).

    Args:
        url: a compatible server's WebSocket URL.
        api_key: a key, sent to ``url`` or to OpenAI.
        config: a ready config (wins over the other arguments, ``model`` aside when given).
        model: the model; default ``config``'s or :data:`DEFAULT_MODEL`.
        dialect: ``"ga"`` or ``"beta"``.
        env: the environment to read ``OPENAI_API_KEY`` from (default ``os.environ``).
    """
    environ = os.environ if env is None else env
    if config is not None:
        if model is not None and model != config.model:
            config = config.replace(model=model)
        return Backend(False, config, _host_label(config), config.model, config.dialect)
    chosen_model = model or DEFAULT_MODEL
    if url is not None:
        custom = ClientConfig(
            url=url, api_key=api_key, model=chosen_model, dialect=dialect, provider="custom"
        )
        return Backend(False, custom, _host_label(custom), chosen_model, dialect)
    key = api_key if api_key is not None else (environ.get(OPENAI_API_KEY_ENV) or None)
    if key is not None:
        openai = ClientConfig(api_key=key, model=chosen_model, dialect=dialect, provider="openai")
        return Backend(False, openai, "api.openai.com", chosen_model, dialect)
    return Backend(True, None, SIMULATOR_LABEL, chosen_model, dialect)


def _host_label(config: ClientConfig) -> str:
    try:
        url = config.ws_url()
    except ValueError:
        url = config.url or ""
    return urlsplit(url).hostname or "custom"
