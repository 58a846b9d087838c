"""The build of the attntag package: the Python files, plus libattntag
(built here with the source tree's Makefile) and the bundled model with its
about-file, so that an installed package needs nothing else of the tree."""
import glob
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MODEL = "en-ewt"


class BuildWithLibrary(build_py):
    """build_py, then the shared library and the model into the package."""

    def run(self):
        super().run()
        if not os.path.exists(os.path.join(ROOT, "Makefile")):
            raise SystemExit("attntag: the package is built from the attntag source tree "
                             "(python/ beside the Makefile); %s has none" % ROOT)
        subprocess.check_call(["make", "-C", ROOT, "shared"])
        libs = sorted(glob.glob(os.path.join(ROOT, "build", "pic", "libattntag.so.*")))
        if not libs:
            raise SystemExit("attntag: make shared built no build/pic/libattntag.so.*")
        pkg = os.path.join(self.build_lib, "attntag")
        for old in glob.glob(os.path.join(pkg, "libattntag.so*")):
            os.remove(old)
        shutil.copy2(libs[-1], pkg)
        models = os.path.join(pkg, "models")
        os.makedirs(models, exist_ok=True)
        for name in (MODEL + ".safetensors", MODEL + ".about.json"):
            shutil.copy2(os.path.join(ROOT, "models", name), models)


class BinaryDistribution(Distribution):
    """The package carries a compiled library: its wheel is for one platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
