/* main.c - the guest's PID 1 (everything happens in init_main(), run.c), and
 * its malloc: a bump arena in .bss, large blocks from mmap.
 *
 * The allocator lives here because only the static init links main.c:
 * libinit.a, which the host's oci2vm and unit tests link, must not carry a
 * malloc that an archive search would pull in for them.
 *
 * Why not libc's: musl's allocator sets itself up on the first malloc()
 * with brk, mmap and mprotect (guard pages), kernel code nothing ran before
 * /init; under TCG that first malloc() costs about 4 ms, a fifth of the
 * boot budget. Init allocates little and mostly once (the run config, the
 * user, the environment), so a bump allocator in zero-filled memory the
 * ELF loader already mapped does:
 *  - free() gives a block back only when it is the last one handed out
 *    (temporary buffers, and realloc() growing the last block, stay cheap);
 *    other frees leak, bounded by what init allocates once;
 *  - a request that is large or does not fit gets a mapping of its own,
 *    unmapped by free(), so reading a big /etc/passwd costs no arena.
 * PID 1 is single-threaded; the vfork-style child of spawn.c shares this
 * memory while PID 1 sleeps, which a bump pointer survives. A static link
 * takes these definitions instead of libc's (musl and glibc both support
 * replacing malloc).
 */
#include "init.h"

#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_SIZE (2 * 1024 * 1024) /* only touched pages cost memory */
#define ALIGN	   16
#define MMAP_MIN   (128 * 1024) /* at least this much: a mapping of its own */
#define PAGE	   4096

struct block {
	size_t size;	/* usable bytes after the header */
	size_t mmapped; /* mapping length, 0 for arena blocks */
};
_Static_assert(sizeof(struct block) == ALIGN, "the header keeps payloads aligned");

static _Alignas(ALIGN) unsigned char arena[ARENA_SIZE];
static size_t arena_used;
static struct block *last; /* the arena's most recent block: free/realloc rewind it */

static size_t round_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static struct block *header(void *p)
{
	return (struct block *)p - 1;
}

static size_t offset_of(const struct block *b)
{
	return (size_t)((const unsigned char *)b - arena);
}

static void *map_block(size_t n)
{
	if (n > SIZE_MAX - sizeof(struct block) - PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t len = (sizeof(struct block) + n + PAGE - 1) & ~(size_t)(PAGE - 1);
	struct block *b =
	    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return NULL;
	b->size = len - sizeof(*b);
	b->mmapped = len;
	return b + 1;
}

void *malloc(size_t n)
{
	if (n >= MMAP_MIN || sizeof(struct block) + round_up(n ? n : 1) > ARENA_SIZE - arena_used)
		return map_block(n);
	struct block *b = (struct block *)(arena + arena_used);
	size_t size = round_up(n ? n : 1);
	arena_used += sizeof(*b) + size;
	b->size = size;
	b->mmapped = 0;
	last = b;
	return b + 1;
}

void free(void *p)
{
	if (!p)
		return;
	struct block *b = header(p);
	if (b->mmapped) {
		munmap(b, b->mmapped);
	} else if (b == last) {
		arena_used = offset_of(b);
		last = NULL;
	}
}

void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	/* A rewound arena block may hold old bytes: clear always. */
	void *p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	struct block *b = header(p);
	if (n <= b->size)
		return p;
	if (b == last && n < MMAP_MIN && round_up(n) <= ARENA_SIZE - offset_of(b) - sizeof(*b)) {
		b->size = round_up(n);
		arena_used = offset_of(b) + sizeof(*b) + b->size;
		return p;
	}
	void *q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, b->size);
	free(p);
	return q;
}

/* The rest of the family, so that libc's allocator is never linked in beside this one. */
void *aligned_alloc(size_t align, size_t n)
{
	if (align > ALIGN) {
		errno = EINVAL;
		return NULL;
	}
	return malloc(n);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
	void *p = aligned_alloc(align, n);

	if (!p)
		return errno;
	*ret = p;
	return 0;
}

void *memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

size_t malloc_usable_size(void *p)
{
	return p ? header(p)->size : 0;
}

int main(void)
{
	init_main();
}
