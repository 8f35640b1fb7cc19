/* platform.h - OS/architecture/variant of images, the containerd way
 * (containerd/platforms database.go normalizeArch, compare.go Only).
 *
 * Both sides are normalised before comparing: x86_64 = amd64, aarch64 =
 * arm64, arm64 variant v8 = no variant, armhf = arm/v7, ... Matching allows
 * the same fallbacks as containerd's non-strict matcher: arm64/v8.2 takes
 * arm64/v8.1 or v8, arm/v7 takes arm/v6 or v5, amd64/v3 takes v2 or v1.
 * Attestation entries (unknown/unknown) never match anything.
 */
#ifndef O2V_PLATFORM_H
#define O2V_PLATFORM_H

#include "registry.h"

#define O2V_PLATFORM_FIELD_MAX 32
#define O2V_PLATFORM_STR_MAX   (3 * O2V_PLATFORM_FIELD_MAX)

struct o2v_platform {
	char os[O2V_PLATFORM_FIELD_MAX];
	char arch[O2V_PLATFORM_FIELD_MAX];
	char variant[O2V_PLATFORM_FIELD_MAX];
};

/* Normalise in place. */
void o2v_platform_normalize(struct o2v_platform *p);

/* Fill from fields (variant may be NULL); normalised. -EINVAL when too long/empty. */
int o2v_platform_set(struct o2v_platform *p, const char *os, const char *arch, const char *variant);

/* Parse "os/arch[/variant]" (or "arch", meaning linux/arch); -EINVAL with the text. */
int o2v_platform_parse(const char *text, struct o2v_platform *ret, struct o2v_error *err);

/* The platform of this machine (linux/<uname -m> normalised). */
void o2v_platform_host(struct o2v_platform *ret);

/* "linux/arm64/v8"-style text (arm64 shows v8 when no variant, as Docker does). */
void o2v_platform_format(const struct o2v_platform *p, char *buf, size_t size);

/* How well have satisfies want: 0 = exact, larger = a fallback, -1 = no match. */
int o2v_platform_match(const struct o2v_platform *want, const struct o2v_platform *have);

#endif
