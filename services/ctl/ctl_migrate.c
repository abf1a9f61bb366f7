/* crvsctl migrate: applies schemas/sql/NNN_*.sql files in order, each in its
 * own transaction, and records what it applied (with a checksum) in
 * crvs.schema_migration. An applied file that changed since is an error:
 * migrations are append-only, fixes go in a new file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hub_pg.h"

#define MIGRATION_LOCK 7102025 /* pg_advisory_xact_lock key: one migrator at a time */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_migration(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
           name[2] >= '0' && name[2] <= '9' && name[3] == '_' && !strcmp(name + n - 4, ".sql");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    char chunk[8192];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        memcpy(buf + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (!buf) buf = calloc(1, 1);
    else buf[len] = '\0';
    return buf;
}

static int run(PGconn *conn, const char *sql)
{
    char err[1024];
    if (hub_pg_exec(conn, sql, err, sizeof err) != HUB_PG_OK) {
        fprintf(stderr, "crvsctl migrate: %s\n", err);
        return -1;
    }
    return 0;
}

/* Returns 1 applied now, 0 already applied, -1 error. */
static int apply_one(PGconn *conn, const char *dir, const char *name, bool status_only)
{
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = slurp(path);
    if (!sql) {
        fprintf(stderr, "crvsctl migrate: %s: cannot read: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    const char *params[2] = {name, sql};
    if (run(conn, "BEGIN") != 0) goto out;
    char lock[64];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", MIGRATION_LOCK);
    if (run(conn, lock) != 0) goto rollback;
    PGresult *res = PQexecParams(conn,
                                 "SELECT checksum = md5($2) FROM crvs.schema_migration "
                                 "WHERE version = $1",
                                 2, NULL, params, NULL, NULL, 0);
    if (hub_pg_classify(conn, res) != HUB_PG_OK) {
        hub_pg_error(conn, res, err, sizeof err);
        fprintf(stderr, "crvsctl migrate: %s\n", err);
        PQclear(res);
        goto rollback;
    }
    if (PQntuples(res) == 1) {
        bool same = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (!same) {
            fprintf(stderr, "crvsctl migrate: %s was applied before and has changed since; "
                            "put changes in a new migration\n", name);
            goto rollback;
        }
        rc = 0;
        goto rollback;
    }
    PQclear(res);
    if (status_only) {
        printf("pending  %s\n", name);
        rc = 0;
        goto rollback;
    }
    res = PQexec(conn, sql);
    if (hub_pg_classify(conn, res) != HUB_PG_OK) {
        hub_pg_error(conn, res, err, sizeof err);
        fprintf(stderr, "crvsctl migrate: %s: %s\n", name, err);
        PQclear(res);
        goto rollback;
    }
    PQclear(res);
    res = PQexecParams(conn,
                       "INSERT INTO crvs.schema_migration (version, checksum) VALUES ($1, md5($2))",
                       2, NULL, params, NULL, NULL, 0);
    bool ok = hub_pg_classify(conn, res) == HUB_PG_OK;
    PQclear(res);
    if (!ok || run(conn, "COMMIT") != 0) goto rollback;
    printf("applied  %s\n", name);
    rc = 1;
    goto out;
rollback:
    (void)hub_pg_exec(conn, "ROLLBACK", err, sizeof err);
out:
    free(sql);
    return rc;
}

int ctl_migrate(ctl *c, int argc, char **argv)
{
    bool status_only = argc > 1 && !strcmp(argv[1], "--status");
    if (argc > 2 || (argc == 2 && !status_only)) {
        fprintf(stderr, "usage: crvsctl migrate [--status]\n");
        return CTL_USAGE;
    }
    const char *dir = hub_config_get(c->cfg, "sql.dir");
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "crvsctl migrate: %s: %s\n", dir, strerror(errno));
        return CTL_FAILED;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_migration(e->d_name)) continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        if (!grown) break;
        names = grown;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);

    int status = CTL_FAILED, applied = 0;
    PGconn *conn = ctl_pg(c);
    if (!conn) goto out;
    if (run(conn, "SET client_min_messages = warning") != 0 ||
        run(conn, "CREATE SCHEMA IF NOT EXISTS crvs") != 0 ||
        run(conn, "CREATE TABLE IF NOT EXISTS crvs.schema_migration ("
                  "version text PRIMARY KEY, checksum text NOT NULL, "
                  "applied_at timestamptz NOT NULL DEFAULT now(), "
                  "applied_by text NOT NULL DEFAULT current_user)") != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(conn, dir, names[i], status_only);
        if (rc < 0) goto out;
        applied += rc;
    }
    printf("migrations: %zu known, %d applied now\n", n, applied);
    status = CTL_OK;
out:
    if (conn) PQfinish(conn);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return status;
}
