"""Guardbot's configuration: typed settings and the path of the default content catalog."""

from config.settings import DEFAULT_CONTENT_PATH, ConfigError, Settings, load_settings

__all__ = ["DEFAULT_CONTENT_PATH", "ConfigError", "Settings", "load_settings"]
