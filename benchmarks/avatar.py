"""3D avatar figures: what ``--onto`` costs, how much it adds to the file, and Blender reading it.

    python benchmarks/avatar.py                 # all figures (Blender's only when it is installed)
    python benchmarks/avatar.py --no-blender

The input: 60 s of espeak-ng speech, its Animation at 60 fps with idle motion (blinks,
gaze, head turns: ``--idle``), and an avatar built here with pygltflib as the tests build
theirs: a head mesh of 5,100 vertices (positions, normals, 10,000 triangles) with the 52
ARKit morph targets (``jawOpen``, ``eyeBlinkLeft``, ...: each moves a patch of the surface)
and a skeleton Hips > Neck > Head > LeftEye, RightEye.

- **speed**: ``api.animate_onto`` alone (read the avatar, plan, build the keyframes, write
  the .glb), the median of 5 runs, split into reading and planning (``load_avatar``) and
  the rest. Target <= 1 s beyond making the Animation.
- **size**: the written file's growth over the avatar, against the keyframes' bytes:
  frames x (1 time + 52 weights + 4 per turned bone's quaternion) x 4 bytes. Target:
  growth <= keyframe bytes + 4 KB (the animation's JSON).
- **blender**: when ``blender`` is installed (Debian's ``blender``, and ``python3-numpy`` for
  its glTF importer; no dependency of mouthpiece), the written file is imported headless
  with Blender's glTF importer at a scene rate of 60 fps; printed: the mesh's shape keys,
  and each action with its frame range and curves. Checked: 52 shape keys besides the
  basis, and an action that drives them over frames 0 to 3599. Without Blender, this says
  why it was skipped.
- **head**: the sample portrait made a 3D head (``api.write_head``) speaking the same
  Animation, imported in Blender the same way: its 52 shape keys, the action, and the
  photo as its texture.
- **validator**: the Khronos glTF validator's errors, warnings and infos on both files.

Files go to a temporary folder; nothing here ships.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pygltflib

from mouthpiece import api
from mouthpiece.avatar import ANIMATION_NAME
from mouthpiece.types import Animation
from mouthpiece.vocabulary import ARKIT_BLENDSHAPES

SECONDS = 60.0  # of speech
FPS = 60.0
RINGS, SEGMENTS = 51, 100  # of the head mesh: 5,100 vertices
RUNS = 5  # of animate_onto, for the median
JSON_ALLOWANCE = 4096  # bytes: the new animation's samplers, channels, accessors and bufferViews
TEXT = (
    "Please pass me the big blue bowl of plums, Bob. The quick brown fox jumps over the lazy dog. "
    "How vexingly quick daft zebras jump! Five wizards jumped over my hot gravy tonight. "
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells. "
)
# Debian's Blender 3.4 importer uses np.bool, which its numpy 1.24 no longer has: alias it back.
BLENDER_SCRIPT = """
import bpy, json, sys, numpy
numpy.bool = bool
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = {fps}
bpy.ops.import_scene.gltf(filepath={path!r})
keys = {{o.name: [k.name for k in o.data.shape_keys.key_blocks] for o in bpy.data.objects
        if o.type == "MESH" and o.data.shape_keys}}
actions = [{{"name": a.name, "range": list(a.frame_range), "curves": len(a.fcurves),
            "paths": sorted({{c.data_path.split('"')[1] if '"' in c.data_path else c.data_path for c in a.fcurves}})}}
           for a in bpy.data.actions]
images = [{{"name": i.name, "size": list(i.size), "users": i.users}} for i in bpy.data.images]
print("MOUTHPIECE " + json.dumps({{"version": bpy.app.version_string, "shape_keys": keys, "actions": actions,
                                  "images": images}}))
sys.stdout.flush()
"""


def speech_animation() -> Animation:
    """SECONDS of speech at FPS, with idle motion: the text said as often as it takes, cut to length."""
    start = time.perf_counter()
    speech, animation = api.say(TEXT, fps=FPS)
    repeats = int(np.ceil(SECONDS / speech.duration))
    speech, animation = api.say(TEXT * repeats, fps=FPS)
    animation = api.add_life(animation, speech, idle=True)
    frames = int(round(SECONDS * FPS))
    weights = animation.viseme_weights
    animation = replace(animation, values=animation.values[:frames], phones=None, visemes=None, cues=None,
                        viseme_weights=None if weights is None else weights[:frames])  # fmt: skip
    print(f"speech: {SECONDS:g} s of espeak-ng ({speech.duration:.1f} s said, cut), {animation.frame_count} frames at "
          f"{FPS:g} fps, made in {time.perf_counter() - start:.2f} s (api.say + add_life)")  # fmt: skip
    return animation


def arkit_name(channel: str) -> str:
    """``JawOpen`` -> ``jawOpen``, as ARKit and most exporters name the targets."""
    return channel[0].lower() + channel[1:]


def head_mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A UV sphere of radius 0.1 m: positions and normals [shape=(RINGS*SEGMENTS, 3)], triangles [shape=(n, 3)]."""
    theta = np.linspace(0.0, np.pi, RINGS)[:, None]  # from the top
    phi = np.linspace(0.0, 2 * np.pi, SEGMENTS, endpoint=False)[None, :]
    normals = np.stack([np.sin(theta) * np.sin(phi), np.cos(theta) * np.ones_like(phi),
                        np.sin(theta) * np.cos(phi)], axis=-1).reshape(-1, 3)  # fmt: skip
    ring, seg = np.meshgrid(np.arange(RINGS - 1), np.arange(SEGMENTS), indexing="ij")
    a, b = ring * SEGMENTS + seg, ring * SEGMENTS + (seg + 1) % SEGMENTS
    c, d = a + SEGMENTS, b + SEGMENTS
    triangles = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    return (0.1 * normals).astype(np.float32), normals.astype(np.float32), triangles.astype(np.uint16)


def build_avatar(path: Path) -> None:
    """The head mesh with the 52 ARKit targets (each a patch pushed out along the normals) and the skeleton."""
    positions, normals, triangles = head_mesh()
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="mouthpiece benchmarks/avatar.py"))
    blob = bytearray()

    def accessor(data: np.ndarray, type_: str, component: int = pygltflib.FLOAT, bounds: bool = False) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=data.nbytes))
        blob.extend(np.ascontiguousarray(data).tobytes())
        rows = data.reshape(len(data), -1)
        record = pygltflib.Accessor(bufferView=len(gltf.bufferViews) - 1, componentType=component, count=len(rows),
                                    type=type_)  # fmt: skip
        if bounds:
            record.min, record.max = rows.min(axis=0).tolist(), rows.max(axis=0).tolist()
        gltf.accessors.append(record)
        return len(gltf.accessors) - 1

    rng = np.random.default_rng(0)
    targets = []
    for _ in ARKIT_BLENDSHAPES:
        centre = rng.normal(size=3)
        near = np.clip(normals @ (centre / np.linalg.norm(centre)), 0.0, None) ** 8  # a patch around centre
        shift = (0.01 * near[:, None] * normals).astype(np.float32)
        targets.append(pygltflib.Attributes(POSITION=accessor(shift, "VEC3", bounds=True)))
    primitive = pygltflib.Primitive(
        attributes=pygltflib.Attributes(POSITION=accessor(positions, "VEC3", bounds=True),
                                        NORMAL=accessor(normals, "VEC3")),
        indices=accessor(triangles.reshape(-1), "SCALAR", pygltflib.UNSIGNED_SHORT), targets=targets, material=0,
    )  # fmt: skip
    gltf.materials.append(pygltflib.Material(name="Skin"))
    gltf.meshes.append(pygltflib.Mesh(name="HeadMesh", primitives=[primitive],
                                      extras={"targetNames": [arkit_name(c) for c in ARKIT_BLENDSHAPES]}))  # fmt: skip
    gltf.nodes += [
        pygltflib.Node(name="Face", mesh=0),
        pygltflib.Node(name="Hips", children=[2], translation=[0, 1, 0]),
        pygltflib.Node(name="Neck", children=[3], translation=[0, 0.5, 0]),
        pygltflib.Node(name="Head", children=[0, 4, 5], translation=[0, 0.1, 0]),
        pygltflib.Node(name="LeftEye", translation=[0.03, 0.03, 0.08]),
        pygltflib.Node(name="RightEye", translation=[-0.03, 0.03, 0.08]),
    ]
    gltf.scenes.append(pygltflib.Scene(name="Scene", nodes=[1]))
    gltf.scene = 0
    gltf.buffers.append(pygltflib.Buffer(byteLength=len(blob)))
    gltf.set_binary_blob(bytes(blob))
    path.write_bytes(b"".join(gltf.save_to_bytes()))


def speed_and_size(animation: Animation, avatar: Path, out: Path) -> None:
    totals, loads = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        report = api.animate_onto(animation, avatar, out)
        totals.append(time.perf_counter() - start)
        start = time.perf_counter()
        api.load_avatar(avatar)
        loads.append(time.perf_counter() - start)
    total, load = float(np.median(totals)), float(np.median(loads))
    verdict = "met" if total <= 1.0 else "MISSED"
    print(f"speed: animate_onto {total:.3f} s (median of {RUNS}; reading and planning the avatar {load:.3f} s, "
          f"keyframes and writing {total - load:.3f} s); target <= 1 s: {verdict}")  # fmt: skip
    driven = len(report.driven)
    keyframe_bytes = animation.frame_count * (1 + driven + 4 * len(report.bones)) * 4
    growth = out.stat().st_size - avatar.stat().st_size
    verdict = "met" if growth <= keyframe_bytes + JSON_ALLOWANCE else "MISSED"
    print(f"size: avatar {avatar.stat().st_size / 1e6:.2f} MB -> {out.stat().st_size / 1e6:.2f} MB: growth "
          f"{growth:,} bytes; keyframes {keyframe_bytes:,} bytes ({animation.frame_count} frames x (1 time + {driven} "
          f"weights + 4 x {len(report.bones)} bones) x 4 B); overhead {growth - keyframe_bytes:,} bytes; target "
          f"<= keyframes + {JSON_ALLOWANCE:,}: {verdict}")  # fmt: skip


def blender(out: Path, frames: int, *, textured: bool = False) -> None:
    """Import ``out`` in Blender headless and check its shape keys and action (and, when
    ``textured``, that the photo came in as an image)."""
    executable = shutil.which("blender")
    if executable is None:
        print(f"blender: skipped: {_why_no_blender()}")
        return
    script = BLENDER_SCRIPT.format(fps=int(FPS), path=str(out))
    start = time.perf_counter()
    result = subprocess.run([executable, "--background", "--factory-startup", "--python-exit-code", "1",
                             "--python-expr", script], capture_output=True, text=True, timeout=600)  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("MOUTHPIECE ")]
    if result.returncode != 0 or not lines:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        print(f"blender: the import FAILED (exit {result.returncode}): {' | '.join(tail)}")
        return
    found = json.loads(lines[0][len("MOUTHPIECE ") :])
    print(f"blender {found['version']}: imported {out.name} in {time.perf_counter() - start:.1f} s")
    for mesh, keys in found["shape_keys"].items():
        print(f"  mesh {mesh}: {len(keys)} shape keys ({', '.join(keys[:4])}, ...)")
    for action in found["actions"]:
        first, last = action["range"]
        print(f"  action {action['name']}: frames {first:g}-{last:g}, {action['curves']} curves on "
              f"{len(action['paths'])} properties")  # fmt: skip
    keys = max(found["shape_keys"].values(), key=len, default=[])
    targets = {arkit_name(c) for c in ARKIT_BLENDSHAPES}
    ours = [a for a in found["actions"] if ANIMATION_NAME in a["name"] and targets <= set(a["paths"])]
    spans = [a["range"] for a in ours]
    for image in found["images"]:
        print(f"  image {image['name']}: {image['size'][0]}x{image['size'][1]} px, {image['users']} users")
    ok = set(keys) - {"Basis"} == targets and any(abs(a) < 1e-3 and abs(b - (frames - 1)) < 1e-3 for a, b in spans)
    ok &= not textured or any(i["users"] > 0 and min(i["size"]) > 0 for i in found["images"])
    print(f"blender: {'OK' if ok else 'NOT AS EXPECTED'}: 52 ARKit shape keys and an action of the mouthpiece "
          f"animation driving them over frames 0-{frames - 1} at {FPS:g} fps"
          + (", and the photo as its texture" if textured else ""))  # fmt: skip


def validator(paths: list[Path]) -> None:
    """The Khronos glTF validator's counts for each file (tools/gltf-validator, installed by make install)."""
    script = Path(__file__).resolve().parents[1] / "tools" / "gltf-validator" / "validate.js"
    if shutil.which("node") is None or not (script.parent / "node_modules" / "gltf-validator").is_dir():
        print("validator: skipped: node or tools/gltf-validator's node_modules is missing (make install)")
        return
    result = subprocess.run(["node", str(script), *map(str, paths)], capture_output=True, text=True, timeout=600)
    for line in result.stdout.splitlines():
        report = json.loads(line)
        print(f"validator: {Path(report['file']).name}: {report['errors']} errors, {report['warnings']} warnings, "
              f"{report['infos']} infos")  # fmt: skip


def _why_no_blender() -> str:
    try:
        policy = subprocess.run(["apt-cache", "policy", "blender"], capture_output=True, text=True).stdout
    except OSError:
        return "blender is not installed, and this machine has no apt-cache to tell whether it can be"
    candidate = next((line.split(":", 1)[1].strip() for line in policy.splitlines() if "Candidate:" in line), None)
    if candidate in (None, "(none)"):
        return "blender is not installed and apt has no candidate for it here"
    return (f"blender is not installed (`apt-get install blender python3-numpy` gives {candidate}; "
            "mouthpiece does not need it)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-blender", action="store_true", help="skip Blender's import")
    args = parser.parse_args()
    animation = speech_animation()
    with tempfile.TemporaryDirectory() as folder:
        avatar, out = Path(folder) / "avatar.glb", Path(folder) / "talking.glb"
        build_avatar(avatar)
        speed_and_size(animation, avatar, out)
        head = Path(folder) / "head.glb"
        start = time.perf_counter()
        api.write_head(api.head_mesh(api.SAMPLE_PORTRAIT), head, animation=animation)
        print(f"head: the sample portrait as a speaking 3D head in {time.perf_counter() - start:.2f} s "
              f"({head.stat().st_size / 1e6:.2f} MB)")  # fmt: skip
        validator([out, head])
        if args.no_blender:
            print("blender: skipped: --no-blender")
        else:
            blender(out, animation.frame_count)
            blender(head, animation.frame_count, textured=True)


if __name__ == "__main__":
    main()
