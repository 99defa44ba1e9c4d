"""Native extensions: every package directory with a `csrc/` folder of C++ sources becomes the
extension module `<package>._native` (e.g. lm/csrc/*.cc -> lm._native). Add sources there; no
edit here is needed."""
import glob
import os

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

ParallelCompile("TINGXIE_BUILD_JOBS", default=2).install()

HERE = os.path.dirname(os.path.abspath(__file__))
# Developers rebuilding one extension while others work in the same tree:
#   TINGXIE_NATIVE_ONLY=lm python setup.py build_ext --inplace -t build/lm
ONLY = set(filter(None, os.environ.get("TINGXIE_NATIVE_ONLY", "").split(",")))
# A sanitizer build for the native fuzz tests (tools/sanitize.sh): TINGXIE_SANITIZE=address,undefined
SANITIZE = os.environ.get("TINGXIE_SANITIZE", "")
SANITIZE_FLAGS = ([f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all", "-g"]
                  if SANITIZE else [])


def native_extensions():
    extensions = []
    for csrc in sorted(glob.glob("**/csrc", recursive=True, root_dir=HERE)):
        package_dir = os.path.dirname(csrc)
        if package_dir.split(os.sep)[0] not in ("asr", "lm", "graph"):
            continue
        sources = sorted(glob.glob(os.path.join(csrc, "*.cc")))
        if not sources:
            continue
        headers = sorted(glob.glob(os.path.join(csrc, "*.h")))
        module = package_dir.replace(os.sep, ".") + "._native"
        if ONLY and package_dir.replace(os.sep, ".") not in ONLY:
            continue
        extensions.append(
            Pybind11Extension(
                module,
                sources,
                depends=headers,
                include_dirs=[csrc],
                cxx_std=17,
                extra_compile_args=["-O1" if SANITIZE else "-O3", "-Wall", "-Wno-sign-compare"]
                + SANITIZE_FLAGS,
                extra_link_args=SANITIZE_FLAGS,
            )
        )
    return extensions


setup(ext_modules=native_extensions(), cmdclass={"build_ext": build_ext})
