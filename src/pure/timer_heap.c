/* timer_heap.c — binary min-heap keyed by due time. */
#include <stdlib.h>

#include "chore.h"
#include "pure/timer_heap.h"

static void swap(timer_entry *a, timer_entry *b)
{
    timer_entry t = *a;
    *a = *b;
    *b = t;
}

int timer_heap_push(timer_heap *h, int64_t due_ms, void *item)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        timer_entry *grown = realloc(h->entries, cap * sizeof *grown);
        if (grown == NULL)
            return CHORE_ENOMEM;
        h->entries = grown;
        h->cap = cap;
    }
    size_t i = h->n++;
    h->entries[i] = (timer_entry){due_ms, item};
    while (i > 0 && h->entries[(i - 1) / 2].due_ms > h->entries[i].due_ms) {
        swap(&h->entries[(i - 1) / 2], &h->entries[i]);
        i = (i - 1) / 2;
    }
    return CHORE_OK;
}

int64_t timer_heap_next(const timer_heap *h)
{
    return h->n > 0 ? h->entries[0].due_ms : INT64_MAX;
}

timer_entry timer_heap_pop(timer_heap *h)
{
    timer_entry top = h->entries[0];
    h->entries[0] = h->entries[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->entries[l].due_ms < h->entries[m].due_ms)
            m = l;
        if (r < h->n && h->entries[r].due_ms < h->entries[m].due_ms)
            m = r;
        if (m == i)
            break;
        swap(&h->entries[i], &h->entries[m]);
        i = m;
    }
    return top;
}

void timer_heap_clear(timer_heap *h) { h->n = 0; }

void timer_heap_free(timer_heap *h)
{
    free(h->entries);
    *h = (timer_heap){0};
}
