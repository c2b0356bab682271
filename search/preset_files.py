"""The preset files: the TOML presets shipped in the package, or the user's own file,
read into plain tables (``search.presets`` turns a table into a StudySpec)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from search.errors import PresetError


def available() -> list[str]:
    """Names of the presets shipped in the package."""
    folder = resources.files("search") / "presets"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))


def read(name_or_file: str) -> tuple[str, dict[str, Any]]:
    """A preset's name and its parsed TOML: a shipped name or a ``FILE.toml``; every
    problem with the file is one line (PresetError)."""
    if name_or_file.endswith(".toml"):
        path = Path(name_or_file)
        if not path.is_file():
            raise PresetError(f"preset file {name_or_file} does not exist")
        try:
            text, name = path.read_text(encoding="utf-8"), path.stem  # TOML is UTF-8
        except UnicodeDecodeError as exc:
            raise PresetError(f"preset {name_or_file} is not UTF-8 text, as TOML must be "
                              f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
                              ) from None
        except OSError as exc:
            raise PresetError(f"cannot read preset {name_or_file}: {exc.strerror}") from None
    else:
        if name_or_file not in available():
            raise PresetError(f"unknown preset {name_or_file!r}: choose one of "
                              f"{', '.join(available())} or pass a FILE.toml")
        text = (resources.files("search") / "presets" / f"{name_or_file}.toml").read_text()
        name = name_or_file
    try:
        return name, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"preset {name_or_file} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise PresetError(f"preset {name_or_file} nests arrays or tables too deeply to "
                          "read") from None
