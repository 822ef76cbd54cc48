"""Before the window opens on X11: the system libraries Qt's xcb platform plugin needs, and the Debian
and Ubuntu packages that bring the missing ones. Without them Qt aborts with a message that names a
plugin, not a package. Imports no Qt: it only asks the dynamic linker about the plugin's file."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

#: The shared libraries behind Qt's xcb plugin, and the Debian/Ubuntu package of each.
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1", "libxcb.so.1": "libxcb1", "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6", "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0", "libdbus-1.so.3": "libdbus-1-3",
}


def xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def not_found(ldd_output: str) -> list[str]:
    """The libraries `ldd` could not resolve, in its order."""
    return [line.split("=>")[0].strip() for line in ldd_output.splitlines() if "=> not found" in line]


def missing_packages(plugin: Path | None = None) -> list[str]:
    """The packages to install for the libraries the plugin cannot find (a library we know no package for
    is named as it is)."""
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return []
    try:
        done = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):  # no ldd: let Qt speak for itself
        return []
    return list(dict.fromkeys(PACKAGES.get(lib, lib) for lib in not_found(done.stdout)))


def uses_xcb() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    return sys.platform.startswith("linux") and platform in ("", "xcb") and bool(os.environ.get("DISPLAY")) \
        and not (platform == "" and os.environ.get("WAYLAND_DISPLAY"))


def missing_line(plugin: Path | None = None) -> str | None:
    """One line for the person, or None when nothing is missing."""
    packages = missing_packages(plugin)
    if not packages:
        return None
    return (f"the window needs system libraries that are missing; install them with: "
            f"sudo apt-get install {' '.join(packages)}")
