/* bootcache.h - facts about this host that hold until it reboots (the TSC rate, whether
 * KVM runs a guest), measured once and kept as "BOOT_ID VALUE" in the runtime directory,
 * which a reboot usually empties anyway. Any failure just means "measure again". */
#ifndef O2V_VM_BOOTCACHE_H
#define O2V_VM_BOOTCACHE_H

#include <stddef.h>

/* The value kept under name for this boot into value (at most size - 1 bytes): true, or
 * false when there is none (another boot, unreadable, malformed). */
bool o2v_boot_cache_get(const char *name, char *value, size_t size);

/* Keep value (one word) under name for this boot; best effort. */
void o2v_boot_cache_put(const char *name, const char *value);

#endif
