"""An avatar as mouthpiece sees it: its morph targets, what drives each, and its bones.

The plan is made from the file alone, before any speech is heard, so a file that
cannot speak is refused at once. Each morph target (per node that shows a mesh) gets
one rule (:class:`Rule`) or a reason to stay at rest:

1. Its name (:mod:`.targets`): an ARKit name is driven by that channel; a viseme name
   by that viseme's weight; a Ready Player Me expression by its channels' mean.
2. Otherwise, the VRM expressions that bind it (:mod:`.vrm`): the vowels ``aa ih ou
   ee oh`` from the visemes ``aa I U E O``, the blinks from the EyeBlink channels,
   each times its bind weight; several binds on one target add up (to at most 1),
   as in a VRM runtime. Other expressions (happy, angry, ...) stay at rest.

A target matched both ways takes the ARKit (or viseme) name's rule. And each part of
the face moves by one source, so no motion is applied twice: when the avatar has
an ARKit ``JawOpen`` target, the mouth moves by the ARKit targets and viseme targets
and VRM vowels stay at rest; else viseme targets win over VRM vowels. When it has
ARKit EyeBlink targets, VRM blinks and ``eyesClosed`` stay at rest; a Ready Player Me
expression stays at rest when the avatar has ARKit targets of its channels. VRM's
``blink`` is used only when the model lacks either of ``blinkLeft`` and ``blinkRight``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InputError
from . import targets as names
from .facing import Facing, find_facing
from .gltf_io import GltfDocument, read_gltf
from .skeleton import find_bones
from .vrm import Expression, VrmInfo, read_vrm


@dataclass(frozen=True)
class MorphTarget:
    """Morph target ``index`` of the mesh node ``node``; ``label`` is ``node name/target name``."""

    node: int
    index: int
    name: str
    label: str


@dataclass(frozen=True)
class Rule:
    """What drives a morph target.

    kind : ``"channel"`` (``keys``: one ARKit channel), ``"mean"`` (the mean of ``keys``' channels),
        ``"viseme"`` (``keys``: one Oculus viseme), ``"expressions"`` (``keys``: VRM expression names,
        each with the bind weight in ``weights``; summed, at most 1)
    """

    kind: str
    keys: tuple[str, ...]
    weights: tuple[float, ...] = ()

    def describe(self) -> str:
        if self.kind == "channel":
            return self.keys[0]
        if self.kind == "viseme":
            return f"viseme {self.keys[0]}"
        if self.kind == "mean":
            return f"mean of {' and '.join(self.keys)}"
        return " + ".join(f"VRM {k}" + (f" x{w:.2f}" if w != 1 else "") for k, w in zip(self.keys, self.weights))


@dataclass
class Avatar:
    """A glTF avatar read and planned: see the module.

    document : the file (:class:`~.gltf_io.GltfDocument`)
    vrm : its VRM declarations (``vrm.version`` None when it is not VRM)
    targets : every morph target of every mesh node, in node then target order
    rules : target -> its Rule, for the targets that move
    at_rest : target -> why it stays at its default weight, for the others
    bones : ``"head"``, ``"neck"``, ``"leftEye"``, ``"rightEye"`` -> node index, those found
    facing : which way it faces, +Z or -Z (:mod:`.facing`), for turning its bones
    """

    document: GltfDocument
    vrm: VrmInfo
    targets: tuple[MorphTarget, ...]
    rules: dict[MorphTarget, Rule]
    at_rest: dict[MorphTarget, str]
    bones: dict[str, int]
    facing: Facing

    @property
    def source(self) -> str:
        return self.document.source


def load_avatar(path: str | os.PathLike[str]) -> Avatar:
    """Read a glTF/GLB/VRM avatar and plan what drives each of its morph targets.

    Raises
    ------
    InputError
        The file is missing, not glTF 2.0, or has no morph target mouthpiece can drive.
    """
    return plan_avatar(read_gltf(path))


def plan_avatar(document: GltfDocument) -> Avatar:
    """An avatar from a glTF document already in memory (read, or made, as
    :mod:`mouthpiece.render.head_gltf` makes a head): what drives each of its morph targets.

    Raises
    ------
    InputError
        The document has no morph target mouthpiece can drive.
    """
    gltf = document.gltf
    vrm = read_vrm(gltf)
    morphs = _morph_targets(document)
    if not morphs:
        raise InputError(f"'{document.source}' has no morph targets (blendshapes), so it has no face to animate.")
    rules, at_rest = _plan(morphs, vrm)
    if not rules:
        raise InputError(
            f"'{document.source}' has no morph target named as an ARKit blendshape, an Oculus viseme (viseme_aa, ...) "
            "or bound to a VRM expression, so mouthpiece cannot make it speak."
        )
    bones = find_bones(gltf, dict(vrm.bones))
    mouth = [(m.node, m.index) for m, rule in rules.items() if _moves_the_mouth(rule)]
    facing = find_facing(document, vrm_version=vrm.version, bones=bones, mouth_targets=mouth)
    return Avatar(document, vrm, morphs, rules, at_rest, bones, facing)


def _moves_the_mouth(rule: Rule) -> bool:
    if rule.kind == "viseme":
        return rule.keys[0] != "sil"
    if rule.kind == "expressions":
        return any(k in names.VRM_VOWELS for k in rule.keys)
    return any(k.startswith(("Jaw", "Mouth")) for k in rule.keys)


def _morph_targets(document: GltfDocument) -> tuple[MorphTarget, ...]:
    gltf = document.gltf
    found = []
    for n, node in enumerate(gltf.nodes):
        if node.mesh is None:
            continue
        if not 0 <= node.mesh < len(gltf.meshes):
            raise InputError(f"'{document.source}' is not valid glTF: node {n} refers to a mesh it does not have.")
        mesh = gltf.meshes[node.mesh]
        count = len(mesh.primitives[0].targets or []) if mesh.primitives else 0
        labels = _target_names(mesh)
        node_name = node.name or mesh.name or f"node {n}"
        for i in range(count):
            name = labels[i] if i < len(labels) else ""
            found.append(MorphTarget(n, i, name, f"{node_name}/{name or f'target {i}'}"))
    return tuple(found)


def _target_names(mesh: object) -> list[str]:
    """``extras.targetNames`` of the mesh, else of its first primitive that has them."""
    for holder in [mesh, *getattr(mesh, "primitives", [])]:
        extras = getattr(holder, "extras", None)
        labels = extras.get("targetNames") if isinstance(extras, dict) else None
        if isinstance(labels, list):
            return [str(label) for label in labels]
    return []


def _plan(morphs: tuple[MorphTarget, ...], vrm: VrmInfo) -> tuple[dict[MorphTarget, Rule], dict[MorphTarget, str]]:
    by_name: dict[MorphTarget, Rule] = {}
    for morph in morphs:
        if (channel := names.arkit_channel(morph.name)) is not None:
            by_name[morph] = Rule("channel", (channel,))
        elif (viseme := names.viseme_name(morph.name)) is not None:
            by_name[morph] = Rule("viseme", (viseme,))
        elif (channels := names.rpm_expression(morph.name)) is not None:
            by_name[morph] = Rule("mean", channels)
    arkit = {r.keys[0] for r in by_name.values() if r.kind == "channel"}
    has_visemes = any(r.kind == "viseme" for r in by_name.values())
    mouth_by_arkit = names.MOUTH_KEY in arkit
    eyelids_by_arkit = bool(arkit.intersection(names.EYELID_KEYS))

    rules: dict[MorphTarget, Rule] = {}
    at_rest: dict[MorphTarget, str] = {}
    for morph, rule in by_name.items():
        if rule.kind == "viseme" and mouth_by_arkit:
            at_rest[morph] = "the ARKit targets move the mouth"
        elif rule.kind == "mean" and arkit.intersection(rule.keys):
            at_rest[morph] = f"the ARKit targets {' and '.join(sorted(arkit.intersection(rule.keys)))} move this"
        else:
            rules[morph] = rule

    skipped, used = _vrm_expressions(vrm, mouth_by_arkit or has_visemes, eyelids_by_arkit)
    binds: dict[tuple[int, int], list[tuple[str, float]]] = {}
    for expression in used:
        for bind in expression.binds:
            for node in bind.nodes:
                binds.setdefault((node, bind.index), []).append((expression.name, bind.weight))
    for morph in morphs:
        if morph in by_name:
            continue
        bound = binds.get((morph.node, morph.index))
        if bound:
            rules[morph] = Rule("expressions", tuple(k for k, _ in bound), tuple(w for _, w in bound))
            continue
        reasons = [why for expression, why in skipped if _binds(expression, morph)]
        at_rest[morph] = reasons[0] if reasons else "no channel drives a target of this name"
    return rules, at_rest


def _vrm_expressions(
    vrm: VrmInfo, mouth_elsewhere: bool, eyelids_by_arkit: bool
) -> tuple[list[tuple[Expression, str]], list[Expression]]:
    """The VRM expressions to drive, and those left at rest with the reason."""
    present = {e.name for e in vrm.expressions if e.binds}
    skipped, used = [], []
    for expression in vrm.expressions:
        name = expression.name
        if name in names.VRM_VOWELS:
            why = "the ARKit or viseme targets move the mouth" if mouth_elsewhere else ""
        elif name in names.VRM_BLINKS:
            pair = {"blinkLeft", "blinkRight"} <= present
            if eyelids_by_arkit:
                why = "the ARKit targets move the eyelids"
            elif name == "blink":
                why = "blinkLeft and blinkRight move the eyelids" if pair else ""
            else:
                why = "blink moves the eyelids" if not pair and "blink" in present else ""
        else:
            why = f"mouthpiece does not drive the VRM expression '{expression.preset or name}'"
        if why:
            skipped.append((expression, why))
        else:
            used.append(expression)
    return skipped, used


def _binds(expression: Expression, morph: MorphTarget) -> bool:
    return any(morph.node in b.nodes and morph.index == b.index for b in expression.binds)
