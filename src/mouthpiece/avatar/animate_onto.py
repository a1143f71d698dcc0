"""An Animation written into an avatar as one glTF animation, ``"mouthpiece"``.

glTF animates a node's morph weights all at once: one sampler per mesh node whose
output holds, for every keyframe, the weight of each of its mesh's targets. So for
each node with a target that moves (:mod:`.rig`), every frame gets a row of the
node's default weights (``node.weights``, else ``mesh.weights``, else 0) with the
driven targets' curves written in. Keyframes are the Animation's frames, at
``frame / fps`` seconds, interpolated linearly. The head (or, without one, the neck)
and the eyes get rotation channels when the Animation moves them (:mod:`.skeleton`).
Nothing already in the file changes, the animations it has included; the output is
written all or nothing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..export.oculus import viseme_weights
from ..timebase import frames_to_time
from ..types import Animation
from ..vocabulary import VISEMES
from . import targets as names
from .gltf_io import write_gltf
from .rig import Avatar, MorphTarget, Rule
from .skeleton import bone_rotations, make_animatable, turn
from .vrm import Expression

ANIMATION_NAME = "mouthpiece"
EXTENSIONS = (".glb", ".gltf", ".vrm")
BINARY_THRESHOLD = 0.5  # a VRM expression marked isBinary is on above this weight
BONE_CHANNELS = {  # bone -> its yaw, pitch and roll channels
    "head": ("HeadYaw", "HeadPitch", "HeadRoll"),
    "leftEye": ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll"),
    "rightEye": ("RightEyeYaw", "RightEyePitch", "RightEyeRoll"),
}
LISTED = 8  # targets named per line of the report before "and N more"


@dataclass(frozen=True)
class AvatarReport:
    """What :func:`animate_onto` did.

    output : str, the file written
    frames : int; fps : float
    driven : tuple of (target label, what drives it), e.g. ``("Head/jawOpen", "JawOpen")``
    at_rest : tuple of (target label, why it keeps its default weight)
    bones : tuple of (bone, node name) turned, e.g. ``("head", "J_Bip_C_Head")``
    still : tuple of (bone, why it was not turned)
    unused : tuple of str, channels that move in the Animation but drive nothing
    facing : str, which way the avatar faces and how that was found, e.g. ``"-Z (a VRM 0.x model)"``
    """

    output: str
    frames: int
    fps: float
    driven: tuple[tuple[str, str], ...]
    at_rest: tuple[tuple[str, str], ...]
    bones: tuple[tuple[str, str], ...]
    still: tuple[tuple[str, str], ...]
    unused: tuple[str, ...]
    facing: str = ""

    def lines(self) -> list[str]:
        """The report as lines for a person: a summary, then what drives what."""
        total = len(self.driven) + len(self.at_rest)
        turned = ", ".join(f"{bone} ('{node}')" for bone, node in self.bones) or "no bones"
        if self.bones and self.facing:
            turned += f" (the model faces {self.facing})"
        lines = [f"wrote {self.output}: {len(self.driven)} of {total} morph targets move over {self.frames} frames "
                 f"({self.frames / self.fps:.1f} s at {self.fps:g} fps); turned: {turned}"]  # fmt: skip
        by_source: dict[str, list[str]] = defaultdict(list)
        for label, source in self.driven:
            by_source[source].append(label)
        lines += [f"  {source} -> {_some(labels)}" for source, labels in by_source.items()]
        by_reason: dict[str, list[str]] = defaultdict(list)
        for label, why in self.at_rest:
            by_reason[why].append(label)
        lines += [f"  at rest ({why}): {_some(labels)}" for why, labels in by_reason.items()]
        lines += [f"  {bone} not turned: {why}" for bone, why in self.still]
        if self.unused:
            lines.append(f"  channels that move but have no target: {_some(list(self.unused))}")
        return lines


def check_output(avatar: Avatar, path: str | os.PathLike[str]) -> None:
    """InputError unless ``path`` can take the avatar: ``.glb`` or ``.gltf``, or ``.vrm`` for a VRM."""
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    if extension not in EXTENSIONS:
        raise InputError(f"Cannot write the animated avatar to '{name}': name it .glb, .gltf or .vrm.")
    if extension == ".vrm" and avatar.vrm.version is None:
        raise InputError(
            f"Cannot write '{avatar.source}' as '{name}': it is not a VRM model, so name it .glb or .gltf."
        )


def animate_onto(animation: Animation, avatar: Avatar, path: str | os.PathLike[str]) -> AvatarReport:
    """Write ``avatar`` with ``animation`` added as the glTF animation ``"mouthpiece"`` to ``path``.

    Parameters
    ----------
    animation : Animation, at least one frame
    avatar : Avatar, from :func:`~.rig.load_avatar` (left unchanged; it may be used again)
    path : str or os.PathLike; ``.glb`` or ``.vrm`` (binary glTF) or ``.gltf`` (JSON, data embedded)

    Returns
    -------
    AvatarReport

    Raises
    ------
    InputError
        ``path`` has another extension (or ``.vrm`` for a model that is not VRM), the
        Animation has no frames or moves none of the avatar's targets, or the file
        cannot be written.
    """
    check_output(avatar, path)
    if animation.frame_count == 0:
        raise InputError("The animation has no frames, so there is nothing to put onto the avatar.")
    document = avatar.document.copy()
    gltf, raw = document.gltf, document.raw
    seconds = np.asarray(frames_to_time(np.arange(animation.frame_count), fps=animation.fps))
    curves, at_rest, used = _curves(animation, avatar, viseme_weights(animation, seconds))
    if not curves:
        raise InputError(
            f"The animation moves none of the morph targets of '{avatar.source}' "
            f"({'; '.join(sorted(set(at_rest.values())))})."
        )
    times = seconds.astype(np.float32)
    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []
    start = document.add_accessor(times, type="SCALAR", bounds=True)

    def add_channel(node: int, path_: str, output: int) -> None:
        samplers.append({"input": start, "output": output, "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path_}})

    by_node: dict[int, list[MorphTarget]] = defaultdict(list)
    for morph in curves:
        by_node[morph.node].append(morph)
    for node, morphs in sorted(by_node.items()):
        weights = np.tile(_default_weights(raw, node), (animation.frame_count, 1))
        for morph in morphs:
            weights[:, morph.index] = curves[morph]
        add_channel(node, "weights", document.add_accessor(weights.reshape(-1), type="SCALAR"))

    bones: list[tuple[str, str]] = []
    still: list[tuple[str, str]] = []
    for bone, node, angles in _bone_turns(animation, avatar, used, still):
        make_animatable(raw["nodes"][node])
        rotations = bone_rotations(gltf, node, turn(*angles, facing=avatar.facing.sign))
        add_channel(node, "rotation", document.add_accessor(rotations, type="VEC4"))
        bones.append((bone, gltf.nodes[node].name or f"node {node}"))
    raw.setdefault("animations", []).append({"name": ANIMATION_NAME, "samplers": samplers, "channels": channels})
    write_gltf(document, path)
    moving = [c for c in animation.channels if np.any(animation.channel(c) != 0) and c not in used]
    return AvatarReport(
        output=os.fspath(path), frames=animation.frame_count, fps=animation.fps,
        driven=tuple((m.label, avatar.rules[m].describe()) for m in avatar.targets if m in curves),
        at_rest=tuple((m.label, at_rest[m]) for m in avatar.targets if m in at_rest),
        bones=tuple(bones), still=tuple(still), unused=tuple(moving),
        facing=f"{avatar.facing.axis}: {avatar.facing.reason}",
    )  # fmt: skip


def _curves(
    animation: Animation, avatar: Avatar, visemes: np.ndarray | None
) -> tuple[dict[MorphTarget, np.ndarray], dict[MorphTarget, str], set[str]]:
    """Each moving target's weights [shape=(T,)], why the others stay at rest, and the channels used
    (``visemes``: the Animation's viseme weights [shape=(T, 15)], as the oculus export has them, or None)."""
    expressions = {e.name: e for e in avatar.vrm.expressions}
    curves: dict[MorphTarget, np.ndarray] = {}
    at_rest = dict(avatar.at_rest)
    used: set[str] = set()
    for morph, rule in avatar.rules.items():
        try:
            curves[morph] = _curve(rule, animation, visemes, expressions, used)
        except _Missing as e:
            at_rest[morph] = str(e)
    return curves, at_rest, used


class _Missing(Exception):
    """The Animation lacks what a rule needs; the message says what."""


def _curve(
    rule: Rule, animation: Animation, visemes: np.ndarray | None, expressions: dict[str, Expression], used: set[str]
) -> np.ndarray:
    if rule.kind in ("channel", "mean"):
        return _channel_mean(animation, rule.keys, used)
    if rule.kind == "viseme":
        if visemes is None:
            raise _Missing("the animation has no viseme weights or visemes")
        return visemes[:, VISEMES.index(rule.keys[0])]
    total = np.zeros(animation.frame_count, np.float64)
    for name, weight in zip(rule.keys, rule.weights):
        if name in names.VRM_VOWELS:
            if visemes is None:
                raise _Missing("the animation has no viseme weights or visemes")
            value = visemes[:, VISEMES.index(names.VRM_VOWELS[name])].astype(np.float64)
        else:
            value = _channel_mean(animation, names.VRM_BLINKS[name], used)
        if expressions[name].binary:
            value = (value > BINARY_THRESHOLD).astype(np.float64)
        total += weight * value
    return np.clip(total, 0.0, 1.0).astype(np.float32)


def _channel_mean(animation: Animation, channels: tuple[str, ...], used: set[str]) -> np.ndarray:
    present = [c for c in channels if c in animation.channels]
    if not present:
        raise _Missing(f"the animation has no {' or '.join(channels)} channel")
    used.update(present)
    return np.mean([animation.channel(c) for c in present], axis=0).astype(np.float32)


def _default_weights(raw: dict[str, Any], index: int) -> np.ndarray:
    """The morph weights node ``index`` shows when not animated: its own, else its mesh's, else 0."""
    node = raw["nodes"][index]
    mesh = raw["meshes"][node["mesh"]]
    count = len(mesh["primitives"][0].get("targets", []))
    for weights in (node.get("weights"), mesh.get("weights")):
        if isinstance(weights, list) and len(weights) == count:
            return np.asarray(weights, np.float32)
    return np.zeros(count, np.float32)


def _bone_turns(
    animation: Animation, avatar: Avatar, used: set[str], still: list[tuple[str, str]]
) -> Iterator[tuple[str, int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """(bone, node, (yaw, pitch, roll)) for each bone to turn; why not, in ``still``, for the others."""
    found = dict(avatar.bones)
    if "head" not in found and "neck" in found:
        found["head"] = found.pop("neck")
    for bone, channels in BONE_CHANNELS.items():
        if bone not in found:
            continue
        present = [c for c in channels if c in animation.channels]
        if not any(np.any(animation.channel(c) != 0) for c in present):
            still.append((bone, "the animation does not move it"))
            continue
        used.update(present)
        zero = np.zeros(animation.frame_count)
        yaw, pitch, roll = (animation.channel(c) if c in present else zero for c in channels)
        yield bone, found[bone], (yaw, pitch, roll)


def _some(labels: list[str]) -> str:
    shown = ", ".join(labels[:LISTED])
    return shown + (f" and {len(labels) - LISTED} more" if len(labels) > LISTED else "")
