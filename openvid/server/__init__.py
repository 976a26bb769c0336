"""`openvid serve`: the web app and its REST API, over the same core the CLI uses.

app: `create_app(engine, ServeConfig)` builds the FastAPI app (page, /api/v1, /docs)
config: ServeConfig (token, allowed roots, upload limit)
errors: every OpenvidError as JSON {"error", "hint"} with its HTTP status; never a traceback
auth: bearer token or login cookie, compared in constant time; loopback needs none
files: which files may be read (indexed videos, paths under their folders, allowed roots)
thumbnails, uploads, jobs: JPEG per segment cached under the home, uploads with a size limit,
    background index jobs with progress as server-sent events
routes: one module per area of the API

One `Engine` serves every request: the encoder loads once and requests run in FastAPI's thread
pool against it (the Engine is safe to share; see its docstring).
"""
