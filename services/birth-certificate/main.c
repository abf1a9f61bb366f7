/* crvs-birth-certificate: consumes `birth-certificate` into
 * crvs.birth_certificate with its audit trail, exactly once. */
#include "birth_rules.h"
#include "hub_service.h"

int main(int argc, char **argv)
{
    static const hub_service_spec spec = {
        .name = "birth-certificate",
        .topic = "birth-certificate",
        .map = birth_map,
    };
    return hub_service_main(&spec, argc, argv);
}
