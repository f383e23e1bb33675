"""Only for what pyproject.toml cannot say: the C crypto core's cffi extension (native/)."""

from setuptools import setup

setup(cffi_modules=["native/build_ffi.py:ffibuilder"])
