"""Where desk replaces or patches a library's default: each module here subclasses or overrides
something of Django, asgiref, uvicorn or channels-redis, some of it private to the library, for a
reason its docstring gives. README.md beside this file lists every such deviation in the project
(a few live elsewhere), with the upstream version it was written against and the test that fails if
an upgrade changes what it relies on; pyproject.toml pins those libraries to the minor versions
tested. Read it before upgrading any of them.
"""
