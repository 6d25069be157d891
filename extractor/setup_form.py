"""The setup form and its setup tests, as the Connector SDK takes them (`configuration_form()`).

The fields are generated from `extractor/config.py`'s key definitions (names, labels, defaults,
ranges), so the form, the validation and `configuration.json` can't drift apart. Each setup test
is a module-level function: the SDK names a test by its function's `__name__`.
`fivetran configuration --test` runs them in order and stops at the first failure.
"""

from __future__ import annotations

from collections.abc import Callable

from fivetran_connector_sdk import ConfigurationForm, Test, form_field

from extractor.config import CONFIGURATION_KEYS, ConfigKey, TuningKey
from extractor.log import log, redact
from extractor.setup_checks import (
    CheckResult,
    check_configuration,
    check_dagster,
    check_features,
    check_reachable,
    check_token,
)


def form_field_for(key: ConfigKey) -> form_field.FormField:
    """The setup form's text field for one configuration key (a password field for the token)."""
    description = key.description
    placeholder = key.placeholder
    if isinstance(key, TuningKey):
        description = (
            f"{description} Optional: empty means the default, {key.default} "
            f"(allowed: {key.smallest} to {key.largest})."
        )
        placeholder = str(key.default)
    return form_field.TextField(
        key.name,
        key.label,
        form_field.TextField.password if key.secret else form_field.TextField.plain_text,
        description=description,
        required=key.required,
        placeholder=placeholder or None,
    )


def _respond(result: CheckResult) -> object:
    """Logs what a check found and turns its result into the SDK's test response."""
    for note in result.notes:
        log.info(note)
    for warning in result.warnings:
        log.warning(warning)
    if result.failure is None:
        return Test().success()
    return Test().failure(redact(result.failure))


def configuration_values(configuration: dict) -> object:
    return _respond(check_configuration(configuration))


def base_url_reachable(configuration: dict) -> object:
    return _respond(check_reachable(configuration))


def api_token_accepted(configuration: dict) -> object:
    return _respond(check_token(configuration))


def dagster_graphql_api(configuration: dict) -> object:
    return _respond(check_dagster(configuration))


def optional_features(configuration: dict) -> object:
    return _respond(check_features(configuration))


SETUP_TESTS: tuple[tuple[str, Callable[[dict], object]], ...] = (
    ("Check the configuration values", configuration_values),
    ("Reach the Dagster URL", base_url_reachable),
    ("Check the API token", api_token_accepted),
    ("Check that the URL is a Dagster GraphQL API", dagster_graphql_api),
    ("List the optional features of this Dagster version", optional_features),
)


def configuration_form() -> ConfigurationForm:
    """The setup form: the Dagster URL, the API token (a password field), the tuning keys."""
    form = ConfigurationForm()
    for key in CONFIGURATION_KEYS:
        form.add_field(form_field_for(key))
    for label, test in SETUP_TESTS:
        form.add_test(label=label, func=test)
    return form
