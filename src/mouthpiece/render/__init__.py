"""Talking-head video: a photo in, frames warped to follow an Animation, an MP4 out.

In pipeline order:

- :mod:`~mouthpiece.render.image`: ``load_image`` reads a photo (any format Pillow
  reads) as upright 8-bit RGB pixels.
- :mod:`~mouthpiece.render.portrait`: frames the photo, rigs the face and poses it
  frame by frame.
- :mod:`~mouthpiece.render.warp`: moves a triangle mesh over an image (``MeshWarp``).
- :mod:`~mouthpiece.render.mouth`: paints the inside of the mouth where the lips part.
- :mod:`~mouthpiece.render.video`: ``VideoWriter`` streams RGB frames and an Audio
  track into an H.264/AAC MP4, atomically.
- :mod:`~mouthpiece.render.speech`: the talking portrait of ``render_video`` and
  ``render_speech``, rendered while recognition runs ahead.
- :mod:`~mouthpiece.render.dub_video`: a dub (``dub_video``) in one pass, the mouth
  re-posed frame by frame by :mod:`~mouthpiece.render.dub`.

Beside the video, a photo as a 3D head (``mouthpiece head``):

- :mod:`~mouthpiece.render.mesh`: the face's textured mesh and eyes, with the rig's ARKit
  morph targets; :mod:`~mouthpiece.render.mesh_mouth`: the inside of its mouth;
  :mod:`~mouthpiece.render.head_gltf`: the head written as glTF.

Nothing is imported here, so ``import mouthpiece.render`` stays cheap (no OpenCV,
Pillow or PyAV); import the module you need.
"""
