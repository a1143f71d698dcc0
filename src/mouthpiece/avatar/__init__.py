"""3D avatars: an Animation written into a user's glTF, GLB or VRM model as a glTF animation.

    avatar = load_avatar("avatar.vrm")          # read it, plan what drives each morph target
    report = animate_onto(animation, avatar, "talking.vrm")

=================  ==============================================================
module             concern
=================  ==============================================================
``gltf_io``        reading .glb/.gltf/.vrm with their buffers; writing with new data appended
``targets``        morph target names: ARKit, Oculus visemes, Ready Player Me, VRM presets
``vrm``            a VRM 0.x or 1.0 model's expressions and humanoid bones
``rig``            the plan: which curve drives which morph target, and which bones there are
``skeleton``       head and eye bones, and their rotations (signs documented there)
``facing``         which way a model faces, +Z or -Z, for those rotations
``animate_onto``   the glTF animation itself, and the report of what moved
=================  ==============================================================
"""

from __future__ import annotations

from .animate_onto import ANIMATION_NAME, EXTENSIONS, AvatarReport, animate_onto, check_output
from .rig import Avatar, load_avatar

__all__ = ["ANIMATION_NAME", "EXTENSIONS", "Avatar", "AvatarReport", "animate_onto", "check_output", "load_avatar"]
