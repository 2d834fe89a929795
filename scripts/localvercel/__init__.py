"""A local runtime that routes exactly like Vercel, and the tools that prove it does.

Vercel turns vercel.json and the files of the project into a Build Output API v3 route table
(`.vercel/output/config.json`) and a filesystem of functions and static files. This package
builds the same two things from the checkout and runs them through one interpreter:

    config.py       load vercel.json and reject what Vercel rejects or this package does not do
    globs.py        the minimatch / .vercelignore pattern subsets vercel.json and Vercel use
    project.py      which files become functions and static files, as Vercel decides it
    routes.py       the route table `vercel build` compiles, generated from the checkout
    interpreter.py  the phase router: (method, path) -> Decision, for any route table
    filesystem.py   the two filesystems the interpreter looks paths up in (checkout, build output)
    loader.py       imports an api/ file once, lazily, as a function instance does
    asgi.py         the ASGI app the dev server and the tests use
    build.py        `vercel build` in a temporary copy, cached under .cache/vercel-build

Because the interpreter is shared, a test can feed it the locally generated table and the table
the real CLI compiled and require the same Decision for every sample request
(tests/test_router_parity.py). Nothing here is imported by api/ or lib/: it never ships.
"""

from __future__ import annotations
