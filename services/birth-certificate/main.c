/* crvs-birth-certificate: consumes `birth-certificate` into
 * crvs.birth_certificate with its audit trail, exactly once. */
#include <time.h>

#include "birth_rules.h"
#include "hub_consumer.h"

static int map_now(json_t *doc, json_t **row, hub_reject *why)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return birth_map(doc, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, row, why);
}

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "birth-certificate",
        .topic = "birth-certificate",
        .apply_sql = "SELECT crvs.apply_birth_certificates($1::jsonb)",
        .map = map_now,
    };
    return hub_service_main(&spec, argc, argv);
}
