/* hub_clock: the clocks the runtime reads. Monotonic time for intervals
 * and deadlines, the wall clock for what is compared with other machines'
 * timestamps (a message's, the database's). */
#ifndef HUB_CLOCK_H
#define HUB_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds and seconds (an arbitrary origin). */
static inline int64_t hub_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline double hub_clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall clock, milliseconds since the epoch. */
static inline int64_t hub_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
