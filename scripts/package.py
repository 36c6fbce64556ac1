"""Build the deployment package: exactly what Azure runs, nothing a publish leaves out (.funcignore).

    python scripts/package.py [out/package.zip]

Files come from the working tree, like `func azure functionapp publish`; dependencies are not vendored: the
Flex Consumption plan installs requirements.txt with a remote build (infra/README.md, "Deploy the code").
"""
from __future__ import annotations

import fnmatch
import sys
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ("function_app.py", "host.json", "requirements.txt")


def ignore_patterns(root: Path = ROOT) -> list[str]:
    lines = (root / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(relative: PurePosixPath, patterns: list[str], is_dir: bool) -> bool:
    """gitignore's rules as far as .funcignore uses them: 'name/' matches a folder at any depth, a pattern
    with a slash inside matches from the root, any other pattern matches a file or folder name anywhere."""
    for pattern in patterns:
        folder_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        if folder_only and not is_dir:
            continue
        if "/" in body.lstrip("/"):
            if fnmatch.fnmatchcase(str(relative), body.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(relative.name, body.lstrip("/")) and (not pattern.startswith("/")
                                                                       or len(relative.parts) == 1):
            return True
    return False


def package_files(root: Path = ROOT) -> list[PurePosixPath]:
    """Every file of the package, relative to the project root, in a stable order."""
    patterns, found = ignore_patterns(root), []

    def walk(folder: Path) -> None:
        for path in sorted(folder.iterdir()):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if ignored(relative, patterns, path.is_dir()):
                continue
            if path.is_dir():
                walk(path)
            elif path.is_file():
                found.append(relative)
    walk(root)
    missing = [name for name in REQUIRED if PurePosixPath(name) not in found]
    if missing:
        raise SystemExit(f"package: {', '.join(missing)} missing (or ignored by .funcignore)")
    return found


def build(target: Path, root: Path = ROOT) -> list[PurePosixPath]:
    target.parent.mkdir(parents=True, exist_ok=True)
    files = package_files(root)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            archive.write(root / relative, str(relative))
    return files


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "package.zip"
    written = build(out)
    print(f"package: {out} ({len(written)} files, {out.stat().st_size:,} bytes)")
