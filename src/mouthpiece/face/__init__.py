"""Faces: landmarks found in a photo, and a rig that moves them by ARKit channel.

- :mod:`~mouthpiece.face.detect`: MediaPipe's 478 face-mesh landmarks (``find_face``).
- :mod:`~mouthpiece.face.landmarks`: named landmark groups and the mesh's triangles.
- :mod:`~mouthpiece.face.regions`: the face's own frame; per-landmark regions and fields.
- :mod:`~mouthpiece.face.rules`: how each blendshape moves the face, as a table.
- :mod:`~mouthpiece.face.rig`: ``build_rig`` (landmarks -> FaceRig) and ``Poser``.

Nothing is imported here: MediaPipe takes a second or two to import.
"""
