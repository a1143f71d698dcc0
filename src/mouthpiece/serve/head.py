"""The web page's 3D head: ``POST /v1/head`` (a portrait as a head with the 52 ARKit morph
targets, a GLB: :func:`make_head`) and the three.js files the page shows it with
(:func:`three_file`).

three.js ships inside the package, in ``static/vendor/three`` (written by
``tools/threejs/vendor.sh``; its README says which version), so the page needs no CDN and
works offline. Those files are served by name from a table made when the server starts:
a name that is not in it is 404, so nothing a client sends is used as a path. They are
open (no token): a browser loads them as modules, which cannot carry the page's token.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException, UploadFile
from fastapi.responses import FileResponse

from .. import api
from ..errors import InputError
from . import tasks
from .requests import SentOnce, receive, refusal, remove

THREE = Path(__file__).parent / "static" / "vendor" / "three"
THREE_URL = "/static/vendor/three/"
THREE_FILES = {path.name: path for path in sorted(THREE.glob("*")) if path.is_file()}
THREE_TYPES = {".js": "text/javascript", ".md": "text/markdown"}  # else text/plain (LICENSE)
GLB_TYPE = "model/gltf-binary"


async def three_file(name: str) -> FileResponse:
    """The vendored three.js file called ``name``; 404 for any other name."""
    path = THREE_FILES.get(name)
    if path is None:
        raise HTTPException(404, "Not Found")
    return FileResponse(path, media_type=THREE_TYPES.get(path.suffix, "text/plain"))


async def make_head(
    portrait: UploadFile | None,
    *,
    folder: Path,
    limit: int,
    run: Callable[..., Awaitable[Any]],
    face: int | None,
    max_pixels: int,
) -> SentOnce:
    """The head of the uploaded ``portrait`` (the bundled sample portrait when None), made in a
    worker (``run``) and answered as a GLB that is removed once sent; the upload is removed
    when the request ends, the answer too when it fails. A photo without a face is 422, one
    that is not an image 415, one past ``max_pixels`` 413."""
    photo = None if portrait is None else await receive(portrait, folder, limit)
    source = Path(api.SAMPLE_PORTRAIT) if photo is None else photo
    out = folder / (secrets.token_hex(16) + ".glb")
    try:
        try:
            await run(tasks.head, str(source), out=str(out), face=face, max_pixels=max_pixels)
        except InputError as e:
            raise refusal(e, source, source.name if portrait is None else portrait.filename, "image") from None
    except BaseException:
        remove(photo, out)
        raise
    remove(photo)
    return SentOnce(out, media_type=GLB_TYPE, filename="head.glb")
