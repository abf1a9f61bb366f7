/* Helpers shared by the services' rule tests (test_*_rules.c): reading the
 * decoded documents and the registry rows the map functions produce. */
#ifndef RULES_TEST_H
#define RULES_TEST_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

/* d[a] or d[a][b]. */
static inline json_t *at(json_t *d, const char *a, const char *b)
{
    return b ? json_object_get(json_object_get(d, a), b) : json_object_get(d, a);
}

/* The string in row[col], or NULL. */
static inline const char *str(json_t *row, const char *col)
{
    return json_string_value(json_object_get(row, col));
}

/* Whether the row's quality_flags holds `flag`. */
static inline bool has_flag(json_t *row, const char *flag)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(row, "quality_flags"), i, v)
        if (!strcmp(json_string_value(v), flag)) return true;
    return false;
}

#endif
