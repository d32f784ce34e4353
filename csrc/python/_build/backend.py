"""The build backend of the mpsync Python package: setuptools'
(setuptools.build_meta), except where that setuptools cannot make a wheel.

setuptools makes wheels itself only from version 70.1; older ones need the
separate "wheel" package, which python3's ensurepip does not install (3.11
ships setuptools 65.5 without it) and which cannot be fetched on a machine
without a package index.  The package is pure Python, so then the wheel
is written here: the files of mpsync/, and a .dist-info with METADATA,
WHEEL and RECORD as the wheel format (PEP 427) and core metadata specify.
"""
import base64
import hashlib
import os
import re
import zipfile

from setuptools import build_meta as _setuptools


def _setuptools_makes_wheels():
    for module in ("setuptools.command.bdist_wheel", "wheel.bdist_wheel"):
        try:
            __import__(module)
            return True
        except ImportError:
            pass
    return False


get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
build_sdist = _setuptools.build_sdist

if _setuptools_makes_wheels():
    get_requires_for_build_wheel = _setuptools.get_requires_for_build_wheel
    prepare_metadata_for_build_wheel = _setuptools.prepare_metadata_for_build_wheel
    build_wheel = _setuptools.build_wheel
else:
    def get_requires_for_build_wheel(config_settings=None):
        return []

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        return _write_wheel(wheel_directory)


def _project():
    """name, version, description and requires-python from pyproject.toml."""
    with open("pyproject.toml", encoding="utf-8") as f:
        text = f.read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]
    fields = dict(re.findall(r'^([a-z-]+) = "([^"]*)"$', section, re.M))
    return fields["name"], fields["version"], fields.get("description", ""), fields.get("requires-python", "")


def _write_wheel(wheel_directory):
    name, version, summary, python = _project()
    dist_info = "%s-%s.dist-info" % (name, version)
    wheel_name = "%s-%s-py3-none-any.whl" % (name, version)
    metadata = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n" % (name, version, summary)
    if python:
        metadata += "Requires-Python: %s\n" % python
    files = []
    for root, dirs, names in os.walk(name):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in sorted(names):
            if n.endswith(".py"):
                path = os.path.join(root, n)
                with open(path, "rb") as f:
                    files.append((path.replace(os.sep, "/"), f.read()))
    files.append((dist_info + "/METADATA", metadata.encode()))
    files.append((dist_info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: mpsync _build\n"
                  b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        record.append(dist_info + "/RECORD,,")
        z.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")
    return wheel_name
