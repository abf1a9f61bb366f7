/* crvs-death-notice: consumes `death-notice` into crvs.death_notice with its
 * audit trail and the deceased's person facts, exactly once. */
#include "death_rules.h"
#include "hub_service.h"

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "death-notice",
        .topic = "death-notice",
        .map = death_map,
    };
    return hub_service_main(&spec, argc, argv);
}
