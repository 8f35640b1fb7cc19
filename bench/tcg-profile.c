/* tcg-profile.c - QEMU TCG plugin for bench/tcg-profile: for every block QEMU translates, its
 * guest address, how many guest instructions it holds and how often it ran; written at exit
 * to $TCG_PROFILE_OUT (one "addr insns runs" line per translation, newest first), plus the
 * number of full code-cache flushes. Translating is most of QEMU's work in a boot, so the
 * translated instructions, and blocks translated more than once, are what to cut.
 *
 * Declares the few functions of QEMU's plugin API (version 1, QEMU 7.2) it uses, so it builds
 * without QEMU's headers. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *userdata);
typedef void (*simple_cb)(qemu_plugin_id_t id);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb, void *userdata);
void qemu_plugin_register_flush_cb(qemu_plugin_id_t id, simple_cb cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
enum { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op, void *ptr,
					      uint64_t imm);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

struct block {
	uint64_t addr, insns, runs;
	struct block *next;
};
static struct block *blocks;
static unsigned long flushes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));
	(void)id;
	if (!b)
		abort();
	b->addr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->runs, 1);
	pthread_mutex_lock(&lock);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&lock);
}

static void on_flush(qemu_plugin_id_t id)
{
	(void)id;
	flushes++;
}

static void on_qemu_exit(qemu_plugin_id_t id, void *unused)
{
	const char *path = getenv("TCG_PROFILE_OUT");
	FILE *f = fopen(path ? path : "tcg-profile.out", "w");
	(void)id, (void)unused;
	if (!f)
		return;
	fprintf(f, "# flushes %lu\n", flushes);
	for (struct block *b = blocks; b; b = b->next)
		fprintf(f, "%llx %llu %llu\n", (unsigned long long)b->addr,
			(unsigned long long)b->insns, (unsigned long long)b->runs);
	fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
							       const void *info, int argc,
							       char **argv)
{
	(void)info, (void)argc, (void)argv;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_flush_cb(id, on_flush);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
