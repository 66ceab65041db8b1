/* timer_heap.h — a binary min-heap of (due time, item): what the scheduler
 * sleeps on. Pure. */
#ifndef CHORE_TIMER_HEAP_H
#define CHORE_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct timer_entry {
    int64_t due_ms;
    void *item;
} timer_entry;

typedef struct timer_heap {
    timer_entry *entries;
    size_t n, cap;
} timer_heap;

/* Add an item; CHORE_ENOMEM when the heap cannot grow. */
int timer_heap_push(timer_heap *h, int64_t due_ms, void *item);
/* The earliest due time, or INT64_MAX when empty. */
int64_t timer_heap_next(const timer_heap *h);
/* Remove and return the earliest entry; the heap must not be empty. */
timer_entry timer_heap_pop(timer_heap *h);
/* Empty the heap, keeping its memory. */
void timer_heap_clear(timer_heap *h);
void timer_heap_free(timer_heap *h);

#endif
