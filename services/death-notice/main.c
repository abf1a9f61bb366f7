/* crvs-death-notice: consumes `death-notice` into crvs.death_notice with its
 * audit trail and the deceased's person facts, exactly once. */
#include <time.h>

#include "death_rules.h"
#include "hub_consumer.h"

static int map_now(json_t *doc, json_t **row, hub_reject *why)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return death_map(doc, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, row, why);
}

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "death-notice",
        .topic = "death-notice",
        .apply_sql = "SELECT crvs.apply_death_notices($1::jsonb)",
        .map = map_now,
    };
    return hub_service_main(&spec, argc, argv);
}
