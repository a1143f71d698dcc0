# Everything a newcomer needs: `make demo` and `make test` install first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# chromium: the browser the web page's end-to-end test drives (through playwright, no download)
APT_PACKAGES := espeak-ng libespeak-ng1 chromium
# node + npm: the Khronos glTF validator the avatar tests run (tools/gltf-validator) and three.js,
# which plays a written avatar in the browser test (tools/threejs). Debian's
# packages, installed only when the commands are missing (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package).
NODE_PACKAGES := nodejs npm
VALIDATOR := tools/gltf-validator
THREEJS := tools/threejs
MEDIAPIPE := mediapipe==0.10.21

.PHONY: install demo test bench lint gallery train clean

install: $(STAMP)

$(STAMP): pyproject.toml $(VALIDATOR)/package-lock.json $(THREEJS)/package-lock.json
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	{ command -v node && command -v npm; } >/dev/null 2>&1 || missing="$$missing $(NODE_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,face,serve,cluster,piper]'
	$(PY) -m pip install -q --no-deps $(MEDIAPIPE)
	cd $(VALIDATOR) && npm ci --no-audit --no-fund --loglevel=error
	cd $(THREEJS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: install
	$(VENV)/bin/mouthpiece demo demo-out

test: install
	$(PY) -m pytest -q --doctest-modules src/mouthpiece tests

bench: install
	$(PY) benchmarks/accuracy.py
	$(PY) benchmarks/speed.py --corpus ../shared/eval/dev --hour
	$(PY) benchmarks/portrait.py
	$(PY) benchmarks/dub.py
	$(PY) benchmarks/stream.py

# Retrain the learned front end end to end (six and a half hours on two cores; needs Debian's
# contrib/non-free MBROLA voices, Festival, the game data and word lists: see training/retrain.py).
train: install
	$(PY) -m pip install -q -e '.[train]'
	$(PY) -m training.retrain

# The README's contact sheet of rendered and dubbed frames (only the bundled astronaut).
gallery: install
	$(PY) tools/gallery.py docs/gallery.png

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src

clean:
	rm -rf $(VENV) demo-out .pytest_cache $(VALIDATOR)/node_modules $(THREEJS)/node_modules
