/* ctl_input: what an operator gives crvsctl's subcommands: input files
 * ("-" for standard input) and the argument shapes several subcommands
 * share. */
#ifndef CTL_INPUT_H
#define CTL_INPUT_H

#include <stdbool.h>
#include <stdio.h>

/* The input file an operator named, "-" for standard input; NULL after
 * printing why ("crvsctl WHO: PATH: ..."). ctl_input_close closes it unless
 * it is standard input. */
FILE *ctl_input_open(const char *who, const char *path);
void ctl_input_close(FILE *in);
/* A whole decimal number >= 0 ("12"; not "", "1x", "-3"). */
bool ctl_parse_count(const char *s, long long *out);
/* An operator's decision on one item: "ID --comment TEXT [--by NAME]",
 * --by defaulting to $USER. Returns -1 when the arguments do not fit. The
 * strings are borrowed from argv and the environment. */
typedef struct ctl_decision {
    const char *id, *comment, *by;
} ctl_decision;
int ctl_parse_decision(int argc, char **argv, ctl_decision *d);

#endif
