#include "ctl.h"
int ctl_report(ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; return CTL_USAGE; }
