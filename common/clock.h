/* clock.h - the one clock timeouts and backoffs are measured with. */
#ifndef O2V_CLOCK_H
#define O2V_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: unaffected by changes of the wall clock. */
int64_t o2v_now_ms(void);

#endif
