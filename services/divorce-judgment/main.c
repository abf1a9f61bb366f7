/* crvs-divorce-judgment: consumes `divorce-judgment` into
 * crvs.divorce_judgment with its audit trail and person facts, exactly
 * once. */
#include "divorce_rules.h"
#include "hub_service.h"

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "divorce-judgment",
        .topic = "divorce-judgment",
        .map = divorce_map,
    };
    return hub_service_main(&spec, argc, argv);
}
