/* crvsctl: migrate the database, publish test documents, wait for the
 * services, inspect dead letters, indicators and reports. See `crvsctl help`. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "hub_build.h"
#include "hub_log.h"

static const hub_config_setting ctl_settings[] = {
    {"schema.catalog", HUB_CFG_STRING, HUB_SCHEMA_DIR, 0, 0, "folder with catalog.tsv and .avsc files"},
    {"sql.dir", HUB_CFG_STRING, HUB_SQL_DIR, 0, 0, "folder with NNN_*.sql migrations"},
    {"log.level", HUB_CFG_STRING, "warn", 0, 0, "error | warn | info | debug"},
};

/* On stdout when asked for (help, --help, -h), on stderr after a usage
 * error. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: crvsctl [-c FILE]... COMMAND [ARGS]\n"
            "commands:\n"
            "  migrate [--status]                 apply the pending schemas/sql migrations in order,\n"
            "                                     one transaction each; --status lists applied,\n"
            "                                     pending and changed files, changing nothing\n"
            "  publish --topic T FILE|-           publish JSON documents (one per line, or an array)\n"
            "  publish --topic T --raw-hex FILE|- publish raw messages given as hex, one per line\n"
            "  wait [--topic T]... [--timeout S]  wait until the services stored every message\n"
            "                                     (exit 3: a partition lost data on the broker)\n"
            "  dlq list [--topic T] [--reason R] [--since TS] [--limit N]\n"
            "  dlq show ID [--reveal]             one dead letter, decoded when possible\n"
            "  dlq replay ID | --reason R | --all-matching [--topic T] [--since TS] [--dry-run]\n"
            "                                     re-publish dead letters once their cause is fixed\n"
            "  dlq discard ID --comment TEXT      close a dead letter that will never be stored\n"
            "  status [--json] [--watch [S]] [--max-lag N] [--max-commit-age S]\n"
            "         [--max-dead-letters-per-hour N] [--max-linker-age S]\n"
            "                                     lag, commits, dead letters, linker; exit 2\n"
            "                                     when a threshold is breached\n"
            "  offsets reset --topic T --partition P --to earliest|latest|N --reason TEXT\n"
            "                                     where a partition stopped for broker data loss\n"
            "                                     goes on (audited; docs/operations.md)\n"
            "  audit verify [--since TS] [--anchor FILE]\n"
            "                                     walk the audit chains: every row changed, missing\n"
            "                                     or inserted (exit 1); --anchor: heads kept earlier\n"
            "  audit anchor                       each chain's head, to keep outside the database\n"
            "  serve [--bind ADDR] [--port N] [--token-file F] [--interval S]\n"
            "                                     the operators' console page (read-only)\n"
            "  reconcile list [--reason R] [--status open|resolved|closed|all] [--limit N]\n"
            "  reconcile resolve ID --comment TEXT [--by NAME]\n"
            "                                     linkage conflicts and gaps, and decisions on them\n"
            "  worklist --kind births|deaths|divorces|undocumented [--unit CODE] [--overdue]\n"
            "           [--days N] [--limit N] [--csv|--json]\n"
            "                                     events reported with no registration (due 60\n"
            "                                     days after a birth, 15 after a death), registrations\n"
            "                                     without their document; IDs masked\n"
            "  marriage load [--source NAME] FILE.csv\n"
            "                                     load an extract of the marriage register\n"
            "  loadgen --topic T --count N [--seed S] [--invalid-share P] [--duplicate-share P]\n"
            "                                     synthetic documents as JSON lines on stdout\n"
            "  stats --list | INDICATOR [--from D] [--to D] [--by DIM,...] [--units current|as-recorded]\n"
            "        [--unit U] [--param N] [--csv|--json]\n"
            "                                     registration indicators (docs/indicators.md)\n"
            "  report --year Y [--province P] [--lang vi|en] --out FILE.html\n"
            "                                     the yearly indicator report, self-contained HTML\n"
            "  refdata load units [--valid-from D] [--by NAME] FILE.csv\n"
            "                                     load a new version of the commune list\n"
            "  refdata show units                 the versions loaded, communes per province\n"
            "  schema register --topic T FILE.avsc\n"
            "                                     check FILE against subject T-value in the schema\n"
            "                                     registry, then register it (prints the id)\n"
            "  schema check --topic T FILE.avsc   can the topic's service read data written with\n"
            "                                     FILE? each incompatibility with its field\n"
            "  topics create [--topic T]... [--partitions N] [--replication R] [--config K=V]...\n"
            "  topics describe [--topic T]...      the hub's topics on a Kafka cluster: create the\n"
            "  topics delete (--topic T...|--all) --yes\n"
            "                                     missing ones, show partitions, replicas in sync,\n"
            "                                     retention; delete (development and tests)\n"
            "configuration: kafka.* (librdkafka), pg.* (libpq), schema.catalog, sql.dir;\n"
            "schema.registry.* (the schema registry client; see docs/operations.md);\n"
            "CRVS_* environment variables override the files.\n"
            "database role each command needs (pg.user, or CRVS_PG_USER; docs/security.md):\n"
            "  crvs_reader    status, wait, stats, report, serve, reconcile list, refdata show,\n"
            "                 worklist\n"
            "  crvs_operator  dlq, reconcile resolve, offsets reset, marriage load, refdata load\n"
            "                 (and all a reader may)\n"
            "  the owner      migrate, audit verify, audit anchor\n");
}

/* `schema register|check ...`. `check` belongs to ctl_schema_check
 * (ctl_schema.c, schema resolution), declared weak here so that crvsctl
 * builds and `register` works whether or not that file is linked in. */
int ctl_schema_check(ctl *c, int argc, char **argv) __attribute__((weak));

static int schema_command(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "register"))
        return ctl_schema_register(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "check") && ctl_schema_check)
        return ctl_schema_check(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: crvsctl schema register --topic T FILE.avsc\n%s",
            ctl_schema_check ? "       crvsctl schema check --topic T FILE.avsc\n" : "");
    return CTL_USAGE;
}

int main(int argc, char **argv)
{
    extern char **environ;
    ctl c = {0};
    char err[512];
    int i = 1, status = CTL_USAGE;
    hub_log_init("crvsctl", HUB_LOG_WARN);
    c.cfg = hub_config_new(ctl_settings, sizeof ctl_settings / sizeof *ctl_settings);
    if (!c.cfg) return CTL_FAILED;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            if (hub_config_load_file(c.cfg, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "crvsctl: %s\n", err);
                status = CTL_FAILED;
                goto out;
            }
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            status = CTL_OK;
            goto out;
        } else if (!strcmp(argv[i], "--version")) {
            printf("crvsctl %s\n", HUB_VERSION);
            status = CTL_OK;
            goto out;
        } else {
            usage(stderr);
            goto out;
        }
    }
    if (hub_config_apply_env(c.cfg, environ, err, sizeof err) != 0) {
        fprintf(stderr, "crvsctl: %s\n", err);
        status = CTL_FAILED;
        goto out;
    }
    hub_log_level level;
    if (hub_log_parse_level(hub_config_get(c.cfg, "log.level"), &level)) hub_log_set_level(level);
    if (i >= argc) {
        usage(stderr);
        goto out;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (!strcmp(cmd, "migrate")) status = ctl_migrate(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "publish")) status = ctl_publish(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "wait")) status = ctl_wait(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "dlq")) status = ctl_dlq(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "status")) status = ctl_status(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "serve")) status = ctl_serve(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "loadgen")) status = ctl_loadgen(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "reconcile")) status = ctl_reconcile(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "marriage")) status = ctl_marriage(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "stats")) status = ctl_stats(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "report")) status = ctl_report(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "refdata")) status = ctl_refdata(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "schema")) status = schema_command(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "topics")) status = ctl_topics(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "offsets")) status = ctl_offsets(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "audit")) status = ctl_audit(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "worklist")) status = ctl_worklist(&c, sub_argc, sub_argv);
    else if (!strcmp(cmd, "help")) {
        usage(stdout);
        status = CTL_OK;
    } else {
        fprintf(stderr, "crvsctl: unknown command '%s'\n", cmd);
        usage(stderr);
    }
out:
    hub_catalog_destroy(c.cat);
    hub_config_destroy(c.cfg);
    return status;
}
