/* crvs-civil-registration: consumes `civil-registration` (the registrations
 * of the civil-status books) into crvs.civil_registration with its audit
 * trail, exactly once. */
#include "civil_rules.h"
#include "hub_service.h"

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "civil-registration",
        .topic = "civil-registration",
        .map = civil_map,
    };
    return hub_service_main(&spec, argc, argv);
}
