/* hub_topics: what each topic carries and how its records are keyed.
 * The business key identifies a document at its source: a re-sent document
 * has the same key; it is also the Kafka message key, so that all versions of
 * one document land in one partition, in order. */
#ifndef HUB_TOPICS_H
#define HUB_TOPICS_H

#include <jansson.h>
#include <stddef.h>

typedef struct hub_topic_info {
    const char *topic;        /* "birth-certificate" */
    const char *entity;       /* registry table / audit entity: "birth_certificate" */
    const char *key_path[2];  /* dotted JSON paths joined with '/' */
    const char *key_columns[2]; /* the same parts' columns in the registry table */
} hub_topic_info;

const hub_topic_info *hub_topic_find(const char *topic);
/* The i-th of the hub's topics (0, 1, ...), NULL past the last. */
const hub_topic_info *hub_topic_at(size_t i);
/* Writes "<part1>/<part2>" (part1 may not contain '/'; part2 may); -1 when a
 * part is missing, empty or not a string,
 * with errstr naming it. */
int hub_topic_key(const hub_topic_info *t, json_t *doc, char *out, size_t out_size,
                  char *errstr, size_t errstr_size) __attribute__((warn_unused_result));
/* Follows a dotted path ("facility.code") through nested objects. */
json_t *hub_json_path(json_t *doc, const char *path);

#endif
