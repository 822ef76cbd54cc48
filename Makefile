# The two set-up commands from the README: `make run` and `make test`. Both install into .venv first.
PYTHON ?= python3
# CPU machines: torch==2.13.0 (the README says how to get the CPU wheel); CUDA machines: see the README.
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := assets/sample
PROJECT := out/sample.sqlite

.PHONY: install run test bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The main job on the bundled sample: a project from its photos and labels, its statistics, a COCO export,
# then the labelling window on it (on a machine without a display, it says so instead).
run: install
	$(BIN)/annotator init $(SAMPLE)/images --project $(PROJECT) --labels date,fig,hazelnut
	$(BIN)/annotator import --from coco $(SAMPLE)/labels.json --images $(SAMPLE)/images --project $(PROJECT)
	$(BIN)/annotator stats $(PROJECT)
	$(BIN)/annotator convert $(PROJECT) --to coco -o out/sample-coco.json
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(BIN)/annotator open $(PROJECT); \
	else echo "no display here: to label, run '$(BIN)/annotator open $(PROJECT)' in a desktop session"; fi

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/store_scale.py
	$(BIN)/python benchmarks/convert_scale.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/gui_latency.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/image_list_scale.py
	$(BIN)/python benchmarks/mask_methods.py
	$(BIN)/python benchmarks/dextr_fruits.py
	$(BIN)/python benchmarks/detectors_fruits.py
	$(BIN)/python benchmarks/sapd_extremes.py
	$(BIN)/python benchmarks/sapd_speed.py
	$(BIN)/python benchmarks/sapd_speed.py --classes 3 --channels 128
