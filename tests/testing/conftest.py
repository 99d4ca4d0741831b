"""The user project under project/ has its own rootdir and configuration: test_toolkit_plugin.py
runs it in a pytest of its own, never as part of this suite."""

collect_ignore = ["project"]
