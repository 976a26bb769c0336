"""`openvid serve`: the web app and REST API on one port, over one Engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from openvid.cli.common import DeviceOption, HomeOption, ModelOption, RuntimeOption, err, out, say_error


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8750,
    token: Annotated[Optional[str], typer.Option(
        help="Require this token from every client (header 'Authorization: Bearer T' or the login page; "
             "OPENVID_TOKEN).")] = None,
    allow_root: Annotated[Optional[list[Path]], typer.Option(
        "--allow-root", metavar="DIR",
        help="A folder the page may start indexing jobs under (repeatable; none: no jobs from the web).")] = None,
    upload_limit_mb: Annotated[float, typer.Option(
        "--upload-limit-mb", help="Largest upload accepted, in MB (larger ones get 413).")] = 500,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
) -> None:
    """Serve the web app (search, classify, taxonomies, indexes) and its REST API (/api/v1, docs at /docs).

    Every request shares one loaded encoder. Only files of indexed videos are served.
    Example: openvid serve --allow-root ~/archive
    """
    import uvicorn

    from openvid.engine import Engine
    from openvid.server.app import create_app
    from openvid.server.config import ServeConfig

    token = token or os.environ.get("OPENVID_TOKEN") or None
    config = ServeConfig(token=token, allow_roots=tuple(allow_root or ()), host=host,
                         upload_limit=int(upload_limit_mb * 1024 * 1024))
    engine = Engine(model=model, device=device, home=home, runtime=runtime)
    prepare_models(engine)
    app = create_app(engine, config)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))

    original_startup = server.startup

    async def startup(sockets=None) -> None:  # print the URL once the port is really bound
        await original_startup(sockets)
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        out.print(f"openvid is serving {engine.settings.home} at http://{shown}:{bound}/ "
                  f"(API docs: http://{shown}:{bound}/docs){' - token required' if token else ''}; Ctrl-C stops",
                  highlight=False, soft_wrap=True, markup=False)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


def prepare_models(engine) -> None:
    """Load the models searches will use, and build their runtime towers, before the server says it
    is listening: a first query would otherwise wait for it (the first ONNX export takes up to a
    minute, longer than a client's usual timeout). A model that cannot be loaded is reported, and
    the server still starts: its requests then get that error as JSON (503)."""
    from openvid.errors import OpenvidError

    for name in engine.search_models():
        with err.status(f"loading {name} (the first run on a runtime exports it, once)…"):
            try:
                towers = engine.prepare([name])[name]
            except OpenvidError as exc:
                say_error("warning:", f"{name} could not be loaded; requests that need it will say why: "
                                      f"{str(exc).splitlines()[0]}")
                continue
        err.print(f"{name}: " + ", ".join(f"{tower} on {ran}" for tower, ran in towers.items()),
                  highlight=False, soft_wrap=True, markup=False)
