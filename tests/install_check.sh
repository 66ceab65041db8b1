#!/bin/sh
# install_check.sh BUILD_DIR — `cmake --install` puts the library, the header
# and chore.pc under a prefix, and a program builds and runs against them
# with nothing but pkg-config.
set -eu
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/pkgconfig | head -n 1)
export PKG_CONFIG_PATH="$libdir"
test -f "$prefix/include/chore.h"
cat > "$prefix/use.c" <<'C'
#include <chore.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    chore_state s;
    if (chore_state_parse("completed", &s) != CHORE_OK || s != CHORE_COMPLETED)
        return 1;
    if (strcmp(chore_strerror(CHORE_ENOMEM), "out of memory") != 0)
        return 1;
    puts(CHORE_VERSION);
    return 0;
}
C
cc "$prefix/use.c" -o "$prefix/use-static" $(pkg-config --cflags chore) \
    "$(dirname "$libdir")/libchore.a" $(pkg-config --static --libs-only-l chore | sed 's/-lchore//')
"$prefix/use-static" | grep -q "^0\."
cc "$prefix/use.c" -o "$prefix/use-shared" $(pkg-config --cflags --libs chore)
LD_LIBRARY_PATH="$(dirname "$libdir")" "$prefix/use-shared" | grep -q "^0\."
echo "install check: header, static and shared library, chore.pc: ok"
