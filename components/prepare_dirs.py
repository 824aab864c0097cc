"""The script that prepares the host directories the containers mount: data and log directories."""

from __future__ import annotations

import re

from components.catalog import ServiceSpec, data_volumes
from components.runtime import HostDirs, Privilege

_FUNCTIONS = """\
set -eu
# ensure_dir UID MODE PATH: PATH exists, owned by UID, with MODE.
ensure_dir() {
  if [ "$privilege" = sudo ]; then
    sudo -n install -d -m "$2" -o "$1" -g "$1" "$3"
  elif [ "$privilege" = root ]; then
    install -d -m "$2" -o "$1" -g "$1" "$3"
  elif ! install -d -m "$2" -o "$1" -g "$1" "$3" 2>/dev/null; then
    mkdir -p "$3"
    chmod 1777 "$3"
  fi
}
"""


_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./${}:?-]+$")


def _quoted(path: str) -> str:
    """Double-quoted, so `${VARIABLE}` in the compose variant still expands; anything else unusual is refused."""
    if not _SAFE_PATH.match(path):
        raise ValueError(f"unsupported characters in host path {path!r}")
    return f'"{path}"'


def prepare_script(catalog: tuple[ServiceSpec, ...], dirs: HostDirs, privilege: Privilege) -> str:
    """Idempotent shell: every data and log directory, owned by the user its container runs as."""
    lines = [f"privilege={privilege.value}", _FUNCTIONS.rstrip()]
    lines += [f"ensure_dir {v.owner_uid} {v.mode} {_quoted(dirs.data(v.name))}" for v in data_volumes(catalog)]
    lines += [f"ensure_dir {s.log_owner_uid} 0755 {_quoted(dirs.logs(s.name))}" for s in catalog]
    return "\n".join(lines) + "\n"
