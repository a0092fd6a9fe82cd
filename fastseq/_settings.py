"""A process-wide choice among a few values, read from an environment variable on first use."""
import os


class ProcessSetting:
    """One of ``choices``: ``env``'s value on first use (``default`` when unset), or what
    ``set`` chose since."""

    def __init__(self, env, choices, default):
        self.env, self.choices, self.default = env, tuple(choices), default
        self._value = None

    def get(self):
        if self._value is None:
            value = os.environ.get(self.env) or self.default
            if value not in self.choices:
                raise ValueError(f"{self.env} must be one of {self.choices}, got {value!r}")
            self._value = value
        return self._value

    def set(self, value, where):
        if value not in self.choices:
            raise ValueError(f"{where}: must be one of {self.choices}, got {value!r}")
        self._value = value
