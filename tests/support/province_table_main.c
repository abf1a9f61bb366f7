/* province_table: prints the province tables compiled into the services
 * (common/hub_validate.c), through its public functions only, one line per
 * fact, for test_province_tables.sh to compare with the reference data in
 * PostgreSQL (schemas/sql/007_refdata.sql):
 *   reform|YYYY-MM-DD          the first day of the 34 provinces
 *   legacy|CC|NAME|TODAY       each of the 63, with the province it is part of today
 *   current|CC|NAME            each of the 34
 *   valid|CC|BEFORE|SINCE      for every code 00..99: accepted on the day before
 *                              the reform / on the reform day (t or f)
 * Lines are in code order within each kind. Names are the tables' UTF-8. */
#include <stdio.h>

#include "hub_validate.h"

int main(void)
{
    int64_t reform = hub_days_from_civil(HUB_REFORM_2025_Y, HUB_REFORM_2025_M, HUB_REFORM_2025_D);
    printf("reform|%04d-%02d-%02d\n", HUB_REFORM_2025_Y, HUB_REFORM_2025_M, HUB_REFORM_2025_D);
    for (int i = 0; i < 100; i++) {
        char code[3];
        snprintf(code, sizeof code, "%02d", i);
        const char *name = hub_province_legacy_name(code);
        if (name) printf("legacy|%s|%s|%s\n", code, name, hub_province_current_code(code));
    }
    for (int i = 0; i < 100; i++) {
        char code[3];
        snprintf(code, sizeof code, "%02d", i);
        const char *name = hub_province_current_name(code);
        if (name) printf("current|%s|%s\n", code, name);
    }
    for (int i = 0; i < 100; i++) {
        char code[3];
        snprintf(code, sizeof code, "%02d", i);
        printf("valid|%s|%c|%c\n", code, hub_province_valid_on(code, reform - 1) ? 't' : 'f',
               hub_province_valid_on(code, reform) ? 't' : 'f');
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
