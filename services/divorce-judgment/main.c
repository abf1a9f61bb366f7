/* crvs-divorce-judgment: consumes `divorce-judgment` into
 * crvs.divorce_judgment with its audit trail and person facts, exactly
 * once. */
#include <time.h>

#include "divorce_rules.h"
#include "hub_consumer.h"

static int map_now(json_t *doc, json_t **row, hub_reject *why)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return divorce_map(doc, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, row, why);
}

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "divorce-judgment",
        .topic = "divorce-judgment",
        .apply_sql = "SELECT crvs.apply_divorce_judgments($1::jsonb)",
        .map = map_now,
    };
    return hub_service_main(&spec, argc, argv);
}
