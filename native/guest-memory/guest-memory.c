/*
 * Linear memories for WEFT's guests: a Wasmtime memory creator (wasmtime_memory_creator_t) that enforces each
 * guest's memory limit itself, and writes down the growth it refused.
 *
 * Why not wasmtime_store_limiter: a refused memory.grow returns -1 to the guest, which almost always traps
 * ("unreachable") a moment later, and the C API gives no way to learn that the limit was the cause. Here the
 * refusal is recorded in the guest's budget, so the runtime can say "out of memory" instead of "unreachable".
 * This uses only the stock C API, so it works with any build of libwasmtime.
 *
 * Which guest a memory belongs to: Wasmtime calls new_memory on the thread that instantiates, and each guest is
 * instantiated and run on its own worker thread, which binds its budget to itself first (weft_guest_memory_bind).
 *
 * The layout is Wasmtime's own: `reserved` bytes that never move (so compiled code keeps its bounds-check
 * elision), then `guard` bytes, all reserved PROT_NONE; the accessible prefix grows with mprotect.
 *
 * Built by scripts/setup.sh into target/libweft-guest-memory.so; loaded by services/runtime/wasmtime/guest-memory.ts.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The C API's types this file needs (wasmtime/config.h), declared here because no headers are installed;
   services/runtime/wasmtime/layout.test.ts checks that their layout is the headers'. */
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;
typedef uint8_t *(*weft_memory_get_t)(void *env, size_t *byte_size, size_t *byte_capacity);
typedef wasmtime_error_t *(*weft_memory_grow_t)(void *env, size_t new_size);
typedef struct {
  void *env;
  weft_memory_get_t get_memory;
  weft_memory_grow_t grow_memory;
  void (*finalizer)(void *);
} weft_linear_memory_t;
typedef wasmtime_error_t *(*weft_new_memory_t)(void *env, const wasm_memorytype_t *ty, size_t minimum,
                                              size_t maximum, size_t reserved, size_t guard,
                                              weft_linear_memory_t *memory_ret);
typedef wasmtime_error_t *(*error_new_t)(const char *message);
typedef struct {
  void *env; /* the library's wasmtime_error_new */
  weft_new_memory_t new_memory;
  void (*finalizer)(void *);
} weft_memory_creator_t;

/* One guest's budget: the most bytes one of its linear memories may have, and the largest size a growth (or an
   initial size) asked for and was refused, 0 while none was. Made by weft_guest_memory_bind. */
typedef struct {
  uint64_t limit;
  uint64_t refused;
} weft_budget_t;

typedef struct {
  uint8_t *base;
  size_t size;     /* accessible bytes */
  size_t capacity; /* bytes reserved for growth in place; the guard follows */
  size_t mapped;   /* capacity + guard: what munmap releases */
  weft_budget_t *budget;
  error_new_t error_new;
} guest_memory_t;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t budget_key;
static size_t host_page;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

static uint8_t *get_memory(void *env, size_t *byte_size, size_t *byte_capacity) {
  guest_memory_t *memory = env;
  *byte_size = memory->size;
  *byte_capacity = memory->capacity;
  return memory->base;
}

static void note_refusal(weft_budget_t *budget, size_t asked) {
  if (budget != NULL && asked > budget->refused) budget->refused = asked;
}

static wasmtime_error_t *grow_memory(void *env, size_t new_size) {
  guest_memory_t *memory = env;
  if (memory->budget != NULL && new_size > memory->budget->limit) {
    note_refusal(memory->budget, new_size);
    return memory->error_new("the guest's memory limit refuses this growth");
  }
  if (new_size > memory->capacity) return memory->error_new("a linear memory cannot grow past its reservation");
  size_t from = round_up(memory->size, host_page), to = round_up(new_size, host_page);
  if (to > from && mprotect(memory->base + from, to - from, PROT_READ | PROT_WRITE) != 0) {
    return memory->error_new("mprotect failed while growing a linear memory");
  }
  memory->size = new_size;
  return NULL;
}

static void free_memory(void *env) {
  guest_memory_t *memory = env;
  munmap(memory->base, memory->mapped);
  free(memory);
}

static wasmtime_error_t *new_memory(void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
                                    size_t reserved, size_t guard, weft_linear_memory_t *memory_ret) {
  (void)ty;
  error_new_t error_new = (error_new_t)env;
  weft_budget_t *budget = pthread_getspecific(budget_key);
  if (budget != NULL && minimum > budget->limit) {
    note_refusal(budget, minimum);
    char message[160];
    snprintf(message, sizeof message, "the component's initial linear memory (%zu KiB) is over the guest's memory limit (%llu KiB)",
             minimum / 1024, (unsigned long long)(budget->limit / 1024));
    return error_new(message);
  }
  /* Wasmtime names a reservation for every memory of the on-demand allocator; without one, reserve what the
     memory may ever reach (it never moves). */
  size_t capacity = reserved;
  if (capacity == 0) {
    capacity = maximum;
    if (budget != NULL && budget->limit < capacity) capacity = (size_t)budget->limit;
    if (capacity < minimum) capacity = minimum;
  }
  capacity = round_up(capacity, host_page);
  guest_memory_t *memory = calloc(1, sizeof *memory);
  if (memory == NULL) return error_new("out of host memory for a linear memory's bookkeeping");
  memory->mapped = capacity + round_up(guard, host_page);
  void *base = mmap(NULL, memory->mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    free(memory);
    return error_new("mmap failed to reserve a linear memory");
  }
  memory->base = base;
  memory->capacity = capacity;
  memory->budget = budget;
  memory->error_new = error_new;
  if (minimum > 0 && mprotect(base, round_up(minimum, host_page), PROT_READ | PROT_WRITE) != 0) {
    free_memory(memory);
    return error_new("mprotect failed to open a linear memory's initial pages");
  }
  memory->size = minimum;
  memory_ret->env = memory;
  memory_ret->get_memory = get_memory;
  memory_ret->grow_memory = grow_memory;
  memory_ret->finalizer = free_memory;
  return NULL;
}

static void make_key(void) {
  host_page = (size_t)sysconf(_SC_PAGESIZE);
  pthread_key_create(&budget_key, NULL);
}

/* Fills `creator` for wasmtime_config_host_memory_creator_set (which copies it); `wasmtime_error_new` is the
   library's own, since errors go back to the library that made the engine. */
void weft_guest_memory_creator(weft_memory_creator_t *creator, void *wasmtime_error_new) {
  pthread_once(&key_once, make_key);
  creator->env = wasmtime_error_new;
  creator->new_memory = new_memory;
  creator->finalizer = NULL;
}

/* Memories instantiated on the calling thread from now on are charged to a new budget of `limit` bytes each
   (UINT64_MAX: no limit). Release it once every memory charged to it is gone (the store is deleted). */
weft_budget_t *weft_guest_memory_bind(uint64_t limit) {
  pthread_once(&key_once, make_key);
  weft_budget_t *budget = calloc(1, sizeof *budget);
  if (budget == NULL) return NULL;
  budget->limit = limit;
  pthread_setspecific(budget_key, budget);
  return budget;
}

uint64_t weft_guest_memory_refused(const weft_budget_t *budget) { return budget->refused; }

void weft_guest_memory_release(weft_budget_t *budget) {
  if (pthread_getspecific(budget_key) == budget) pthread_setspecific(budget_key, NULL);
  free(budget);
}
