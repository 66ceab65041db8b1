/* corpus_replay.h — replaying a fuzzer's corpus as a regression test: every
 * file of a directory, in name order, through the fuzz target's function. */
#ifndef CHORE_CORPUS_REPLAY_H
#define CHORE_CORPUS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

/* The file being replayed, for the target's failure messages (FUZZ_FAIL). */
extern char corpus_current[512];

/* The corpus directory: the environment variable `env` when set, else `built_in`. */
const char *corpus_dir(const char *env, const char *built_in);

/* Run every file of dir_name (in name order, each as a copy of exactly its
 * bytes, at most 64 KiB) through `one`, which must return 0. Fewer than
 * min_files files means a lost corpus: the test fails. */
void corpus_replay(const char *dir_name, size_t min_files, int (*one)(const uint8_t *, size_t));

#endif
