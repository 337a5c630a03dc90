"""User-facing errors: each carries a one-line message that names the culprit."""


class EmorecoError(Exception):
    """Base class of errors caused by input or configuration, shown without traceback."""


class ConfigError(EmorecoError):
    """A parameter value is invalid or inconsistent."""


class DataLayoutError(EmorecoError):
    """A folder or file expected in the DEAM / data layout is missing."""


class AnnotationError(EmorecoError):
    """An annotation CSV is malformed (header, ids, values, time grid)."""


class AudioError(EmorecoError):
    """An audio file cannot be decoded or is unusable (empty, silent, too short)."""


class ModelError(EmorecoError):
    """A saved model is missing, partial, corrupt or does not match the features."""
