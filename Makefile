# The two set-up commands of the README: `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).
JOBS ?= $(shell nproc)
CTEST = ctest --output-on-failure -j $(JOBS)

.PHONY: all deps build run test test-normal test-asan test-tsan bench clean install

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

# Until the daemon lands: the example program that embeds the library.
run: build
	@mkdir -p run
	./build/example_basic run/example.db

test: deps test-normal test-asan test-tsan

test-normal: build
	cd build && $(CTEST)

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHORE_SANITIZE=address >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST)

test-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCHORE_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(CTEST) -L threaded

bench: build
	./build/chore bench

install: build
	cmake --install build

clean:
	rm -rf build build-asan build-tsan run
