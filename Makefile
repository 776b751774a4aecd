# The two commands a newcomer needs: `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= ./data

.PHONY: all deps test-deps configure build run test unit clean format

all: build

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --with-test

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

format:
	clang-format -i $$(git ls-files 'src/*.h' 'src/*.cpp' 'tests/*.cpp')

clean:
	rm -rf $(BUILD_DIR)
