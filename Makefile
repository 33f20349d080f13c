# The two commands of the README, and a few for developers.
.PHONY: demo test install dev docs bench bench-lab mutation engine bench-engine bench-provision

demo: install
	scripts/demo.sh

test: install
	scripts/test.sh

install:
	scripts/install.sh

# The Pulumi engine alone (install runs it too, with the stacks extra).
engine:
	scripts/install-engine.sh

dev:
	scripts/install.sh && .venv/bin/pip install -q -e '.[all,dev]'

docs: install
	.venv/bin/mkdocs build --strict

bench: install
	.venv/bin/python bench/help_latency.py
	.venv/bin/python bench/audit_bench.py
	.venv/bin/python bench/dcim_bench.py
	.venv/bin/python bench/snmpv3_bench.py
	.venv/bin/python bench/plan_bench.py
	.venv/bin/python bench/tenancy_ipam.py
	.venv/bin/python bench/alert_latency.py
	.venv/bin/python bench/server_bench.py
	@if [ "$$(id -u)" -eq 0 ]; then .venv/bin/python bench/lab_bench.py; else echo "bench/lab_bench.py skipped: needs root"; fi

bench-lab: install
	.venv/bin/python bench/lab_bench.py

# Mutation testing of the modules in scripts/mutation.toml; the report goes to docs/ (docs/mutation.md).
MUTATION_BUDGET ?= 3600
mutation: install
	.venv/bin/python scripts/mutation.py --all --budget $(MUTATION_BUDGET) --report docs/mutation-report.md

# Cold and warm engine builds in a scratch folder (20–60 minutes).
bench-engine: install
	.venv/bin/python bench/engine_bench.py

# dcops provision against the lab cloud beside openstacksdk, and ten at once (as root, 30-90 minutes).
bench-provision: install
	.venv/bin/python bench/provision_bench.py
