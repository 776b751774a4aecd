# The two commands a newcomer needs: `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= ./data

.PHONY: all deps test-deps check-deps configure build run test unit clean format check-asan fuzz

all: build

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --with-test

# Tests plus Debian's clang for the sanitizer and fuzzing builds.
check-deps:
	@./scripts/install-deps.sh --with-check

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD_DIR)/build.ninja

# Optimized with debug info: build/barbossa
build: deps configure
	ninja -C $(BUILD_DIR) -j $(JOBS) barbossa

# Starts the server on the embedded defaults (data in ./data). The URL is
# printed, and on the first start the generated admin password too.
run: build
	$(BUILD_DIR)/barbossa serve --data-dir $(DATA_DIR)

# Builds everything and runs every test (unit and integration).
test: test-deps configure
	ninja -C $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

unit: configure
	ninja -C $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -E integration

# The whole suite (unit and integration) built with clang-14 under
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included), in
# its own build folder. Any report fails the test that caused it.
ASAN_DIR ?= build-asan
# Reports go to files as well: a server the integration tests started may die
# of one (or leak at exit) where no test reads its stderr. Any file fails the run.
ASAN_LOGS = $(abspath $(ASAN_DIR))/sanitizer-logs
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:log_path=$(ASAN_LOGS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_LOGS)/ubsan

check-asan: check-deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DBARBOSSA_BENCH=OFF -DBARBOSSA_SANITIZE=ON
	ninja -C $(ASAN_DIR) -j $(JOBS)
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@rc=0; cd $(ASAN_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS) || rc=1; \
	if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then \
		echo "check-asan: sanitizer reports in $(ASAN_LOGS):"; cat $(ASAN_LOGS)/*; rc=1; \
	else echo "check-asan: no sanitizer reports"; fi; exit $$rc

# libFuzzer targets (fuzz/), each run for FUZZ_SECONDS; see docs/RELIABILITY.md.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz: check-deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DBARBOSSA_BENCH=OFF -DBARBOSSA_FUZZ=ON -DBUILD_TESTING=OFF
	ninja -C $(FUZZ_DIR) -j $(JOBS) fuzz
	BUILD_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh $(FUZZ_TARGETS)

format:
	clang-format -i $$(git ls-files 'src/*.h' 'src/*.cpp' 'tests/*.cpp')

clean:
	rm -rf $(BUILD_DIR)
