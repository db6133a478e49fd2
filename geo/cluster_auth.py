"""How the embedded cluster is guarded: scram-sha-256 with a generated password kept mode 0600.

The password lives in ``<home>/db_password``, owned by the OS user that runs djmap (root, when
djmap runs as root and the cluster belongs to ``postgres``/``djmap``), so no other local user can
read it. pg_hba.conf asks every connection, socket or loopback, for it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from geo.errors import ClusterError

PASSWORD_FILE = "db_password"
HBA_MARK = "# djmap: scram-sha-256 only"
HBA = f"""{HBA_MARK} (written by djmap; trust would make every local OS user superuser)
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
local   replication all                scram-sha-256
host    replication all 127.0.0.1/32   scram-sha-256
"""


def password_path(home: Path) -> Path:
    """Where the cluster's superuser password is kept."""
    return Path(home).resolve() / PASSWORD_FILE


def read_password(home: Path) -> str | None:
    """The stored password, or None when the file does not exist (yet)."""
    path = password_path(home)
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    return value or None


def ensure_password(home: Path) -> str:
    """The stored password, generating it (file mode 0600, created exclusively) when missing."""
    current = read_password(home)
    if current is not None:
        return current
    path = password_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():  # an empty file holds no password
        path.unlink()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:  # another process made it just now: use theirs
        theirs = read_password(home)
        if theirs is None:
            raise ClusterError(f"{path} is being written by another process; try again") from exc
        return theirs
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def with_password(url: str, password: str | None) -> str:
    """The libpq URL with the password in its user part (percent-encoded)."""
    if not password:
        return url
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    user = user.split(":", 1)[0]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))


def hba_current(datadir: Path) -> bool:
    """True when pg_hba.conf is djmap's scram-only file (False for a cluster made with trust)."""
    try:
        return (datadir / "pg_hba.conf").read_text().startswith(HBA_MARK)
    except FileNotFoundError:
        return False
