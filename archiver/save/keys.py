"""Internet Archive keys for Save Page Now: where they come from, and kept out of sight.

Keys are required: anonymous submissions are refused (401) or limited to uselessness.
They come from ``IA_ACCESS_KEY_ID`` / ``IA_SECRET_ACCESS_KEY``, the names the
``internetarchive`` library (the ``ia`` tool) reads, or else from that tool's config file,
so a machine where ``ia configure`` was run needs nothing more. (waybackpy has no keys: it
uses the anonymous ``GET /save/<url>``, which is why it is not used here.)

Keys never leave the ``Authorization`` header: ``InternetArchiveKeys`` hides them from
``repr``/``str``, they are not part of ``Settings``, and no message quotes a header. A
malformed key (a line break, a space, a character that is not ASCII) is refused when it
is read, with its position but never its value: sent on, the HTTP libraries would quote
the whole header back in their error. What a server says is shown only after
``redact`` took the keys out of it, in case it quotes them back.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from archiver.errors import SetupError

ACCESS_KEY_ENV = "IA_ACCESS_KEY_ID"
SECRET_KEY_ENV = "IA_SECRET_ACCESS_KEY"
KEYS_PAGE = "https://archive.org/account/s3.php"
HIDDEN = "<hidden>"
MISSING_KEYS = (
    f"Save Page Now needs Internet Archive keys: set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} "
    f"(get them at {KEYS_PAGE}), or run 'ia configure'"
)


class InternetArchiveKeys:
    """An archive.org S3-style access key and secret; shown nowhere, only sent.

    ``source`` says where they came from (an environment variable, a config file), for
    messages such as "the keys from ~/.config/ia.ini were refused".
    """

    __slots__ = ("_access", "_secret", "source")

    def __init__(self, access: str, secret: str, source: str = "the caller") -> None:
        if not access.strip() or not secret.strip():
            raise SetupError(MISSING_KEYS)
        self._access = _well_formed(access.strip(), "access key", source)
        self._secret = _well_formed(secret.strip(), "secret key", source)
        self.source = source

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value SPN2 expects."""
        return f"LOW {self._access}:{self._secret}"

    def redact(self, text: str) -> str:
        """``text`` with each key, as it is or percent-encoded, replaced by ``<hidden>``."""
        for key in sorted({self._secret, self._access}, key=len, reverse=True):
            for form in dict.fromkeys([key, quote(key, safe=""), quote(key)]):
                text = text.replace(form, HIDDEN)
        return text

    def __repr__(self) -> str:
        return f"InternetArchiveKeys(access=<hidden>, secret=<hidden>, source={self.source!r})"

    __str__ = __repr__


def _well_formed(key: str, what: str, source: str) -> str:
    """``key`` if it can go in a header as it is, else a SetupError that says where the
    key is wrong and never what it holds."""
    for position, char in enumerate(key, 1):
        if char == ":" and what == "access key":
            problem = (
                f"a colon (character {position}), which would end it in the Authorization header"
            )
        elif "!" <= char <= "~":
            continue
        elif char in "\r\n":
            problem = f"a line break (character {position})"
        elif char == " ":
            problem = f"a space (character {position})"
        elif char.isascii():
            problem = f"a control character (character {position})"
        else:
            problem = f"a character that is not ASCII (character {position})"
        raise SetupError(
            f"the {what} from {source} contains {problem}: a key is one line of printable "
            f"ASCII; copy it again from {KEYS_PAGE}"
        )
    return key


def load_keys(environ: Mapping[str, str] | None = None) -> InternetArchiveKeys:
    """The keys from ``IA_ACCESS_KEY_ID``/``IA_SECRET_ACCESS_KEY``, else from ``ia``'s config.

    Raises SetupError with a one-line explanation when there are none.
    """
    env = os.environ if environ is None else environ
    access = env.get(ACCESS_KEY_ENV, "").strip()
    secret = env.get(SECRET_KEY_ENV, "").strip()
    if access and secret:
        return InternetArchiveKeys(access, secret, f"{ACCESS_KEY_ENV}/{SECRET_KEY_ENV}")
    if access or secret:
        missing = SECRET_KEY_ENV if access else ACCESS_KEY_ENV
        raise SetupError(
            f"{missing} is not set: Save Page Now needs both {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"
        )
    config = ia_config_file(env)
    if config is not None:
        keys = _keys_from_ia_config(config)
        if keys is not None:
            return keys
    raise SetupError(MISSING_KEYS)


def ia_config_file(environ: Mapping[str, str]) -> Path | None:
    """The config file the ``ia`` tool would read (the first that exists), as it looks for it:
    ``$IA_CONFIG_FILE``, ``$XDG_CONFIG_HOME/internetarchive/ia.ini``, ``~/.config/ia.ini``,
    ``~/.ia``."""
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    candidates = [Path(environ["IA_CONFIG_FILE"])] if environ.get("IA_CONFIG_FILE") else []
    xdg = environ.get("XDG_CONFIG_HOME", "")
    xdg_home = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    candidates += [xdg_home / "internetarchive" / "ia.ini", home / ".config" / "ia.ini"]
    candidates.append(home / ".ia")
    return next((path for path in candidates if path.is_file()), None)


def _keys_from_ia_config(path: Path) -> InternetArchiveKeys | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error) as e:
        what = type(e).__name__
        raise SetupError(f"cannot read the Internet Archive config file {path}: {what}") from e
    access = parser.get("s3", "access", fallback="") or ""
    secret = parser.get("s3", "secret", fallback="") or ""
    if access.strip() and secret.strip():
        return InternetArchiveKeys(access, secret, str(path))
    return None
