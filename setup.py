"""Ships the top-level data/ folder (published figures) inside the wheel as ``costmodel/_data``;
everything else is in setup.cfg."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["costmodel", "costmodel.*"]) + ["costmodel._data"],
    package_dir={"costmodel._data": "data"},
    package_data={"costmodel._data": ["*.csv", "*.md", "*.json"]},
)
