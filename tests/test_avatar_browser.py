"""3D avatars in a real player: a written file played by three.js in headless Chromium.

three.js (pinned in tools/threejs, installed by ``make install``) is served to the page by
playwright's route interception from the local folder; every other request is refused, so
nothing is fetched from a CDN or anywhere else. The page plays the ``mouthpiece`` clip with
``THREE.AnimationMixer``, advances the mixer to a few times and reads the mesh's
``morphTargetInfluences`` back: they must be the Animation's curves at those times,
interpolated linearly between keyframes.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import numpy as np
import pytest
from test_avatar import ARKIT_TARGETS, MeshSpec, build_avatar

from mouthpiece import api
from mouthpiece.types import Animation
from mouthpiece.vocabulary import CHANNELS

THREEJS = Path(__file__).resolve().parents[1] / "tools" / "threejs" / "node_modules" / "three"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ORIGIN = "http://avatar.test"  # never resolved: every request to it is answered by the test
FPS = 24.0
FRAMES = 40  # 1.625 s
TIMES = (0.1, 0.5, 1.0, 1.234, (FRAMES - 1) / FPS)  # s; most between keyframes
DRIVEN = ["JawOpen", "EyeBlinkLeft", "EyeBlinkRight", "MouthSmileLeft", "BrowInnerUp", "MouthFunnel", "TongueOut"]
DEFAULTS = [0.0] * 7 + [0.25]  # notAShape rests at 0.25
PAGE = """<!doctype html><meta charset="utf-8">
<script type="importmap">
{"imports": {"three": "/three/build/three.module.js", "three/addons/": "/three/examples/jsm/"}}
</script>
<script type="module">
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
window.play = async (file, times) => {
  const gltf = await new GLTFLoader().loadAsync(file);
  const clip = THREE.AnimationClip.findByName(gltf.animations, "mouthpiece");
  const mesh = gltf.scene.getObjectByName("Face");
  const influences = times.map((t) => {  // as a player plays speech: once, holding the last frame
    const mixer = new THREE.AnimationMixer(gltf.scene);
    const action = mixer.clipAction(clip).setLoop(THREE.LoopOnce, 1);
    action.clampWhenFinished = true;
    action.play();
    mixer.update(t);
    return Array.from(mesh.morphTargetInfluences);
  });
  return { clips: gltf.animations.map((a) => a.name), duration: clip.duration,
           names: Object.keys(mesh.morphTargetDictionary), influences };
};
window.ready = true;
</script>
"""


def _animation() -> Animation:
    """FRAMES random frames at FPS: blendshapes in [0, 1], head and eye angles within 0.3 rad."""
    rng = np.random.default_rng(7)
    values = rng.uniform(0.0, 1.0, (FRAMES, len(CHANNELS)))
    values[:, 52:] = rng.uniform(-0.3, 0.3, (FRAMES, len(CHANNELS) - 52))
    return Animation(fps=FPS, values=values)


@pytest.mark.slow
def test_threejs_plays_the_written_animation_on_the_morph_targets(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make install installs it)")
    if not (THREEJS / "build" / "three.module.js").is_file():
        pytest.fail(f"three.js is not installed: run `npm ci --prefix {THREEJS.parents[1]}` (make install does).")
    avatar = build_avatar(tmp_path / "avatar.glb", [MeshSpec("Face", ARKIT_TARGETS, weights=DEFAULTS)])
    animation = _animation()
    for name in ("talking.glb", "talking.gltf"):
        api.animate_onto(animation, avatar, tmp_path / name)
    files = {"/three/": THREEJS, "/": tmp_path}
    refused: list[str] = []

    def serve(route) -> None:
        url = route.request.url
        path = url[len(ORIGIN) :].split("?")[0] if url.startswith(ORIGIN + "/") else None
        if path == "/":
            return route.fulfill(body=PAGE, content_type="text/html")
        for prefix, folder in files.items():
            if path is not None and path.startswith(prefix):
                file = (folder / path[len(prefix) :]).resolve()
                if file.is_relative_to(folder) and file.is_file():
                    kind = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0]
                    return route.fulfill(body=file.read_bytes(), content_type=kind or "application/octet-stream")
        refused.append(url)
        return route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/*", serve)
            page.goto(ORIGIN + "/")
            page.wait_for_function("window.ready === true", timeout=30_000)
            played = {name: page.evaluate("([file, times]) => window.play(file, times)", ["/" + name, list(TIMES)])
                      for name in ("talking.glb", "talking.gltf")}  # fmt: skip
        finally:
            browser.close()
    assert not errors and not refused, (errors, refused)

    keyframes = np.arange(FRAMES) / FPS
    expected = np.zeros((len(TIMES), len(ARKIT_TARGETS)))
    for column, channel in enumerate(DRIVEN):
        expected[:, column] = np.interp(TIMES, keyframes, animation.channel(channel))
    expected[:, 7] = DEFAULTS[7]  # nothing drives it: its default weight throughout
    for name, result in played.items():
        assert result["clips"] == ["Idle", "mouthpiece"], name  # the avatar's own animation is kept
        assert result["duration"] == pytest.approx(keyframes[-1], abs=1e-4)
        assert result["names"] == ARKIT_TARGETS  # three.js reads the target names from the file
        np.testing.assert_allclose(np.array(result["influences"]), expected, atol=1e-3, err_msg=name)
