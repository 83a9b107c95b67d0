"""The one error type the `imr` command line turns into a one-line message and exit status 2."""


class InputError(ValueError):
    """Bad or missing input (a path, a folder with no letters, an unusable dataset): the message
    names the path or key and what was found, and never quotes a letter's text."""
