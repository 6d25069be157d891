"""Shared pytest set-up: the SDK logger needs a level, as the SDK's runner sets it."""

from fivetran_connector_sdk_common.logger import Logging

Logging.LOG_LEVEL = Logging.Level.DEBUG
