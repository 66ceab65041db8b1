# The two set-up commands of the README: `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).
JOBS ?= $(shell nproc)
CTEST = ctest --output-on-failure -j $(JOBS)

.PHONY: all deps build run test test-normal test-asan test-tsan bench clean install fuzz

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

# The daemon with the example config (examples/chore.ini: a few command
# jobs and schedules) on run/chore.db; the dashboard's address is printed.
run: build
	@mkdir -p run
	./build/chore serve --config examples/chore.ini

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

# libFuzzer on the cron parser, the daemon's config parser and its HTTP
# request bodies, FUZZ_SECONDS each (clang, ASan+UBSan, in build-fuzz); new
# finds go to build-fuzz/new-NAME and the inputs that add new edges are
# merged into fuzz/corpus/NAME (replayed by `make test`: test_cron_corpus,
# test_daemon_corpus). Crashes are written as build-fuzz/crash-*.
FUZZ_SECONDS ?= 60
FUZZERS = cron config http_body
fuzz:
	@scripts/install-deps.sh fuzz
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-fuzz -j $(JOBS) $(FUZZERS:%=--target fuzz_%)
	@rm -f build-fuzz/crash-*
	@set -e; for f in $(FUZZERS); do \
	  case $$f in cron) len=256;; config) len=2048;; *) len=4096;; esac; \
	  mkdir -p build-fuzz/new-$$f; \
	  echo "fuzz_$$f: $(FUZZ_SECONDS)s"; \
	  ./build-fuzz/fuzz_$$f -fork=$(JOBS) -ignore_crashes=1 -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=10 -max_len=$$len -dict=fuzz/$$f.dict -artifact_prefix=build-fuzz/ \
	    build-fuzz/new-$$f fuzz/corpus/$$f; \
	  ./build-fuzz/fuzz_$$f -merge=1 -use_counters=0 -timeout=10 -artifact_prefix=build-fuzz/ \
	    fuzz/corpus/$$f build-fuzz/new-$$f; \
	done
	@ls build-fuzz/crash-* 2>/dev/null && echo "fuzz: crashes above (replay: ./build-fuzz/fuzz_NAME FILE)" && exit 1 || true

bench: build
	./build/chore bench

install: build
	cmake --install build

clean:
	rm -rf build build-asan build-tsan build-fuzz run
