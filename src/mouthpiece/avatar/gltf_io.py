"""Read a glTF 2.0 avatar (.glb, .gltf, .vrm) and write it back with new data appended.

Reading keeps the file's JSON as it is (a dict: every property, extension and extra,
including those pygltflib's object model lacks, such as ``node.weights``), a
read-only pygltflib view of it to inspect, and the bytes of every buffer: the GLB
binary chunk, ``data:`` URIs, and ``.bin`` files next to a ``.gltf``. Writing never
moves what is there: bufferView and accessor indices stay as they were, so every
reference in the file (meshes, skins, images, extensions such as Draco's) still
holds. New accessors go at the end:

- ``.glb`` / ``.vrm`` (binary): after the binary chunk's data (buffer 0), 4-byte
  aligned; other buffers are kept, an external one embedded as a ``data:`` URI.
- ``.gltf`` (JSON): into one new buffer, a ``data:`` URI; buffers and images that
  were files next to the source are embedded as ``data:`` URIs too, so the output is
  self-contained wherever it is written.

A buffer without data (an ``EXT_meshopt_compression`` fallback) stays without data.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import numpy as np
import pygltflib

from ..atomic import atomic_output
from ..errors import InputError

GLB_MAGIC = b"glTF"
GLB_VERSION = 2
JSON_CHUNK, BIN_CHUNK = 0x4E4F534A, 0x004E4942  # "JSON", "BIN\0" as little-endian uint32
ALIGNMENT = 4  # bytes: GLB chunks, and every bufferView we add (float32 data)
FLOAT = 5126  # componentType of float32
COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
               ".ktx2": "image/ktx2"}  # fmt: skip


@dataclass
class GltfDocument:
    """A glTF document, the bytes of its buffers, and the accessors to add when written.

    raw : dict, the JSON as read; what is written (changed in place by whoever animates it)
    gltf : pygltflib.GLTF2, a read-only view of the JSON as read, to inspect
    buffers : list of bytes or None, buffer ``i``'s data (None: a buffer without data)
    source : str, the file it was read from (for messages and relative URIs)
    """

    raw: dict[str, Any]
    gltf: pygltflib.GLTF2
    buffers: list[bytes | None]
    source: str
    _new: bytearray = field(default_factory=bytearray)  # appended data, each view 4-byte aligned
    _new_views: list[int] = field(default_factory=list)  # bufferViews that point into _new (offsets relative)

    def copy(self) -> GltfDocument:
        """A copy to add to (the view and the buffers' bytes are shared: nobody changes them)."""
        return GltfDocument(copy.deepcopy(self.raw), self.gltf, list(self.buffers), self.source,
                            bytearray(self._new), list(self._new_views))  # fmt: skip

    def add_accessor(self, values: np.ndarray, *, type: str, bounds: bool = False) -> int:
        """Append float32 ``values`` as a new accessor; its index.

        Parameters
        ----------
        values : np.ndarray [shape=(count,) for SCALAR, (count, 4) for VEC4], float
        type : str, the accessor type: ``"SCALAR"`` or ``"VEC4"``
        bounds : bool, set ``min`` and ``max`` (glTF requires them on animation inputs)
        """
        data = np.ascontiguousarray(values, dtype="<f4")
        self._new.extend(b"\0" * (-len(self._new) % ALIGNMENT))
        offset = len(self._new)
        self._new.extend(data.tobytes())
        views = self.raw.setdefault("bufferViews", [])
        views.append({"buffer": -1, "byteOffset": offset, "byteLength": data.nbytes})  # placed by to_bytes
        self._new_views.append(len(views) - 1)
        rows = data.reshape(len(data), -1)
        accessor: dict[str, Any] = {"bufferView": len(views) - 1, "componentType": FLOAT, "count": len(rows),
                                    "type": type}  # fmt: skip
        if bounds:
            accessor["min"] = [float(v) for v in rows.min(axis=0)]
            accessor["max"] = [float(v) for v in rows.max(axis=0)]
        accessors = self.raw.setdefault("accessors", [])
        accessors.append(accessor)
        return len(accessors) - 1

    def read_floats(self, index: int) -> np.ndarray | None:
        """Accessor ``index`` of the file as read, float32 only, as float64 [shape=(count, components)];
        None when it is not plain float32 data this reader can see (quantized, compressed, missing)."""
        accessors = self.raw.get("accessors", [])
        accessor = accessors[index] if isinstance(index, int) and 0 <= index < len(accessors) else None
        if not isinstance(accessor, dict) or accessor.get("componentType") != FLOAT:
            return None
        width = COMPONENTS.get(str(accessor.get("type")))
        if width is None:
            return None
        count = accessor.get("count", 0)
        values = np.zeros((count, width), np.float64)
        if accessor.get("bufferView") is not None:
            dense = self._view_floats(accessor["bufferView"], accessor.get("byteOffset", 0), count, width)
            if dense is None:
                return None
            values[:] = dense
        sparse = accessor.get("sparse")
        if isinstance(sparse, dict):
            try:
                at = self._view_data(sparse["indices"]["bufferView"], sparse["indices"].get("byteOffset", 0))
                kind = {5121: "<u1", 5123: "<u2", 5125: "<u4"}[sparse["indices"]["componentType"]]
                rows = np.frombuffer(at, kind, sparse["count"]).astype(np.int64)
                changed = self._view_floats(sparse["values"]["bufferView"], sparse["values"].get("byteOffset", 0),
                                            sparse["count"], width)  # fmt: skip
                if changed is None:
                    return None
                values[rows] = changed
            except (KeyError, TypeError, ValueError, IndexError):
                return None
        return values

    def _view_data(self, view_index: int, offset: int) -> bytes:
        view = self.raw["bufferViews"][view_index]
        data = self.buffers[view["buffer"]]
        if data is None:
            raise ValueError("a buffer without data")
        start = view.get("byteOffset", 0) + offset
        return data[start : view.get("byteOffset", 0) + view["byteLength"]]

    def _view_floats(self, view_index: int, offset: int, count: int, width: int) -> np.ndarray | None:
        try:
            data = self._view_data(view_index, offset)
            stride = self.raw["bufferViews"][view_index].get("byteStride") or 4 * width
            if count and (count - 1) * stride + 4 * width > len(data):  # checked before striding over it
                return None
            rows = np.lib.stride_tricks.as_strided(
                np.frombuffer(data, np.uint8), shape=(count, 4 * width), strides=(stride, 1), writeable=False
            )
            return np.ascontiguousarray(rows).view("<f4").reshape(count, width).astype(np.float64)
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    def to_bytes(self, *, binary: bool, folder: str) -> bytes:
        """The whole file: GLB (``binary``) or glTF JSON, with the new data laid out (see the module).

        ``folder`` is where the file will be, for the relative URI of an image kept as a file.
        """
        raw = copy.deepcopy(self.raw)
        records = raw.setdefault("buffers", [])
        buffers = list(self.buffers)
        blob = b""
        if binary:
            if not buffers:
                records.append({"byteLength": 0})
                buffers.append(b"")
            first = buffers[0]
            if first is None:
                raise InputError(f"'{self.source}' has no data in its first buffer, so it cannot be written as GLB.")
            base = len(first) + (-len(first) % ALIGNMENT)
            blob = first + b"\0" * (base - len(first)) + bytes(self._new)
            target = 0
            records[0].pop("uri", None)
            records[0]["byteLength"] = len(blob)
        else:
            base, target = 0, len(records)
            if self._new:
                records.append({"byteLength": len(self._new), "uri": _data_uri(bytes(self._new))})
        for view in self._new_views:
            raw["bufferViews"][view]["buffer"] = target
            raw["bufferViews"][view]["byteOffset"] += base
        for i, (record, data) in enumerate(zip(records, buffers)):
            if data is not None and not (binary and i == 0) and not str(record.get("uri", "")).startswith("data:"):
                record["uri"] = _data_uri(data)  # a file next to the source, or the GLB chunk in a .gltf
        self._embed_images(raw, folder)
        if not raw["buffers"]:
            del raw["buffers"]
        if binary:
            return _glb(json.dumps(raw, separators=(",", ":"), allow_nan=False).encode("utf-8"), blob)
        return json.dumps(raw, indent=2, allow_nan=False).encode("utf-8")

    def _embed_images(self, raw: dict[str, Any], folder: str) -> None:
        for image in raw.get("images", []):
            uri = image.get("uri") if isinstance(image, dict) else None
            if not isinstance(uri, str) or uri.startswith("data:"):
                continue
            path = self.resolve(uri)
            kind = image.get("mimeType") or IMAGE_TYPES.get(os.path.splitext(path)[1].lower())
            if kind is None:  # a type we do not know: keep the file, referred to from where the output is
                image["uri"] = os.path.relpath(path, folder).replace(os.sep, "/")
                continue
            image["uri"] = _data_uri(self.read_file(path, what="image"), kind)

    def resolve(self, uri: str) -> str:
        """The path of a file a relative ``uri`` of the source names."""
        return os.path.join(os.path.dirname(os.path.abspath(self.source)), unquote(uri))

    def read_file(self, path: str, *, what: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise InputError(f"'{self.source}' refers to the {what} '{path}', which cannot be read: "
                             f"{e.strerror or e}.") from e  # fmt: skip


def read_gltf(path: str | os.PathLike[str]) -> GltfDocument:
    """Read a ``.glb``, ``.vrm`` or ``.gltf`` file (told by content, not extension) and its buffers.

    Raises
    ------
    InputError
        The file is missing or unreadable, not glTF 2.0, or refers to a buffer file that is missing.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"Could not read the avatar '{name}': {e.strerror or e}.") from e
    glb = data[:4] == GLB_MAGIC
    try:
        text, blob = _parse_glb(data) if glb else (data.decode("utf-8-sig"), None)
        try:
            raw = json.loads(text)
        except ValueError:
            raise ValueError("its JSON chunk cannot be parsed" if glb else "it is neither GLB nor JSON") from None
        if not isinstance(raw, dict):
            raise ValueError("its JSON is not an object")
        with warnings.catch_warnings():  # pygltflib's warnings are not the user's business
            warnings.simplefilter("ignore")
            gltf = pygltflib.GLTF2.from_json(text, infer_missing=True)
    except UnicodeDecodeError:
        raise InputError(
            f"'{name}' is not a glTF 2.0 file (.glb, .gltf or .vrm): it is neither GLB nor JSON."
        ) from None
    except Exception as e:  # json's and pygltflib's parsers raise whatever they raise on bad input
        raise InputError(f"'{name}' is not a glTF 2.0 file (.glb, .gltf or .vrm): {_reason(e)}.") from None
    if not str(_get(raw, "asset", "version")).startswith("2."):
        raise InputError(f"'{name}' is not a glTF 2.0 file (.glb, .gltf or .vrm): it declares no asset version 2.0.")
    document = GltfDocument(raw, gltf, [], name)
    for i, buffer in enumerate(raw.get("buffers", [])):
        document.buffers.append(_buffer_data(document, buffer, blob if i == 0 else None))
    return document


def new_document(raw: dict[str, Any], blob: bytes, *, source: str) -> GltfDocument:
    """A document made in memory: its JSON (whose buffer 0 is ``blob``, with no ``uri``, as a
    GLB's binary chunk) and that data. ``source`` names it in messages."""
    with warnings.catch_warnings():  # pygltflib's warnings are not the user's business
        warnings.simplefilter("ignore")
        gltf = pygltflib.GLTF2.from_json(json.dumps(raw), infer_missing=True)
    return GltfDocument(raw, gltf, [bytes(blob)], source)


def write_gltf(document: GltfDocument, path: str | os.PathLike[str]) -> None:
    """Write ``document`` to ``path`` atomically: GLB for ``.glb`` and ``.vrm``, glTF JSON for ``.gltf``."""
    name = os.fspath(path)
    binary = os.path.splitext(name)[1].lower() != ".gltf"
    data = document.to_bytes(binary=binary, folder=os.path.dirname(os.path.abspath(name)))
    with atomic_output(name, what="avatar") as temp, open(temp, "wb") as f:
        f.write(data)


def _parse_glb(data: bytes) -> tuple[str, bytes | None]:
    """The JSON text and the binary chunk (None without one) of a GLB file; ValueError if it is broken."""
    if len(data) < 20:
        raise ValueError("its GLB header is cut short")
    version, length = struct.unpack_from("<II", data, 4)
    if version != GLB_VERSION:
        raise ValueError(f"it is GLB version {version}, not 2")
    if length > len(data):
        raise ValueError(f"it is cut short ({len(data)} of {length} bytes)")
    text, blob, offset = None, None, 12
    while offset + 8 <= length:
        size, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + 8 : offset + 8 + size]
        if len(chunk) < size:
            raise ValueError("a chunk is cut short")
        if kind == JSON_CHUNK and text is None:
            text = chunk.decode("utf-8")
        elif kind == BIN_CHUNK and blob is None:
            blob = chunk
        offset += 8 + size
    if text is None:
        raise ValueError("it has no JSON chunk")
    return text, blob


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _buffer_data(document: GltfDocument, buffer: Any, blob: bytes | None) -> bytes | None:
    if not isinstance(buffer, dict) or not isinstance(buffer.get("byteLength"), int):
        raise InputError(f"'{document.source}' is not valid glTF: a buffer has no byteLength.")
    uri = buffer.get("uri")
    if uri is None:
        return None if blob is None else bytes(blob[: buffer["byteLength"]])
    if not isinstance(uri, str):
        raise InputError(f"'{document.source}' is not valid glTF: a buffer's uri is not text.")
    if uri.startswith("data:"):
        try:
            return base64.b64decode(uri.split(",", 1)[1], validate=False)
        except (IndexError, ValueError) as e:
            raise InputError(f"'{document.source}' has a buffer whose data URI cannot be decoded.") from e
    return document.read_file(document.resolve(uri), what="buffer file")


def _data_uri(data: bytes, kind: str = "application/octet-stream") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _glb(text: bytes, blob: bytes) -> bytes:
    text += b" " * (-len(text) % ALIGNMENT)
    chunks = struct.pack("<II", len(text), JSON_CHUNK) + text
    if blob:
        padded = blob + b"\0" * (-len(blob) % ALIGNMENT)
        chunks += struct.pack("<II", len(padded), BIN_CHUNK) + padded
    return GLB_MAGIC + struct.pack("<II", GLB_VERSION, 12 + len(chunks)) + chunks


def _reason(e: Exception) -> str:
    text = str(e).strip().rstrip(".").splitlines()
    return text[0] if text else type(e).__name__
