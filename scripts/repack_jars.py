#!/usr/bin/env python3
"""Rewrites jars in place for a bundle that xz compresses as a whole.

Each entry is stored uncompressed: deflate per entry hides the redundancy between class files, which
xz over the whole tar then finds (measured by scripts/gpu-spark-bundle.sh). Native libraries for
platforms other than linux-x86_64 are dropped: the bundle only runs on the GPU hosts.

Usage: repack_jars.py JAR...
"""
import os
import re
import sys
import tempfile
import zipfile

NATIVE = re.compile(r"\.(so|dylib|dll|jnilib|a)$", re.IGNORECASE)
# A directory naming another operating system or architecture; linux x86_64 is spelled
# linux/amd64, Linux/x86_64 or linux64 by the libraries concerned.
FOREIGN = re.compile(
    r"darwin|mac|osx|win|aix|freebsd|sunos|android|aarch_?64|arm|i386|/x86/|ppc|s390|mips|loongarch|riscv"
    r"|linux32",
    re.IGNORECASE)


def foreign_native(name):
    directory = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
    return NATIVE.search(name) is not None and FOREIGN.search(directory) is not None


def repack(path):
    dropped = 0
    with zipfile.ZipFile(path) as source:
        # A signature covers entries' uncompressed bytes, so storing them keeps it valid; dropping
        # entries is only done to unsigned jars.
        signed = any(n.startswith("META-INF/") and n.endswith(".SF") for n in source.namelist())
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".jar")
        os.close(fd)
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_STORED) as target:
            for info in source.infolist():
                if not signed and foreign_native(info.filename):
                    dropped += 1
                    continue
                data = source.read(info)
                info.compress_type = zipfile.ZIP_STORED
                target.writestr(info, data)
    os.replace(temp, path)
    return dropped


if __name__ == "__main__":
    for jar in sys.argv[1:]:
        n = repack(jar)
        if n:
            print(f"{os.path.basename(jar)}: dropped {n} native libraries of other platforms")
