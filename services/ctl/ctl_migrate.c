/* crvsctl migrate: brings the database to the migrations in sql.dir
 * (NNN_*.sql, applied in name order), forward only.
 *
 * Contract (docs/operations.md, "Upgrade"):
 * - a released file (listed in sql.dir/released.sha256) is never edited: one
 *   that differs from its released digest, or is missing, is refused;
 * - every applied file is recorded in crvs.schema_migration with the md5 of
 *   its text; an applied file whose text changed since, or an applied file
 *   the folder no longer has, is refused;
 * - a pending file that sorts before an applied one is refused (the files
 *   after it were written assuming it was there);
 * - any of these refusals is decided before anything is applied: the
 *   database is left exactly as it was;
 * - each pending file runs in a transaction of its own together with its
 *   record; one that fails is rolled back entirely and stops the run;
 * - one migrator at a time (a session advisory lock).
 * `--status` prints the same plan without changing anything. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_pg.h"
#include "hub_file.h"
#include "hub_pg.h"

#define MIGRATION_LOCK 7102025 /* pg_advisory_lock key: one migrator at a time */
#define MANIFEST "released.sha256"

typedef enum mig_state {
    MIG_PENDING, /* in the folder, not applied */
    MIG_APPLIED, /* applied with the text the folder has */
    MIG_CHANGED, /* applied with another text */
    MIG_MISSING, /* applied, not in the folder */
} mig_state;

typedef struct mig {
    char *name;
    char *sql; /* the file's text; NULL when MIG_MISSING */
    size_t len;
    char md5[33];     /* of the file's text, as recorded when applied */
    char sha256[65];  /* of the file's bytes, as released.sha256 lists it */
    char *applied_at; /* NULL when not applied */
    char *recorded;   /* the recorded md5, NULL when not applied */
    const char *released_sha256; /* from the manifest, NULL when not released */
    mig_state state;
    bool reported; /* a refusal about this file was printed */
} mig;

typedef struct plan {
    const char *dir;
    mig *m;
    size_t n;
    bool have_manifest;
    char **manifest_names; /* released files, with manifest_sums[] */
    char **manifest_sums;
    size_t n_manifest;
    int problems;
} plan;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const mig *)a)->name, ((const mig *)b)->name);
}

static bool is_migration(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
           name[2] >= '0' && name[2] <= '9' && name[3] == '_' && !strcmp(name + n - 4, ".sql");
}

static mig *add_mig(plan *p, const char *name)
{
    mig *grown = realloc(p->m, (p->n + 1) * sizeof *grown);
    if (!grown) return NULL;
    p->m = grown;
    mig *m = &p->m[p->n];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    if (!m->name) return NULL;
    p->n++;
    return m;
}

static mig *find_mig(plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->m[i].name, name)) return &p->m[i];
    return NULL;
}

/* Reads every NNN_*.sql of the folder. -1 after printing why. */
static int read_folder(plan *p)
{
    DIR *d = opendir(p->dir);
    if (!d) {
        fprintf(stderr, "crvsctl migrate: %s: %s\n", p->dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_migration(e->d_name)) continue;
        mig *m = add_mig(p, e->d_name);
        if (!m) {
            fprintf(stderr, "crvsctl migrate: out of memory\n");
            rc = -1;
            break;
        }
        char path[4096], err[4352];
        snprintf(path, sizeof path, "%s/%s", p->dir, e->d_name);
        m->sql = hub_file_read(path, &m->len, err, sizeof err);
        if (!m->sql) {
            fprintf(stderr, "crvsctl migrate: %s\n", err);
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* Reads sql.dir/released.sha256 (sha256sum's format: digest, two spaces,
 * name) when it is there. -1 after printing why. */
static int read_manifest(plan *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", p->dir, MANIFEST);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        fprintf(stderr, "crvsctl migrate: %s: %s\n", path, strerror(errno));
        return -1;
    }
    p->have_manifest = true;
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        char *name = line + 64;
        bool hex = strspn(line, "0123456789abcdef") == 64;
        if (!hex || name[0] != ' ' || name[1] != ' ' || !is_migration(name + 2)) {
            fprintf(stderr, "crvsctl migrate: %s:%d: not \"SHA256  NNN_name.sql\"\n", path, lineno);
            rc = -1;
            break;
        }
        *name = '\0';
        char **names = realloc(p->manifest_names, (p->n_manifest + 1) * sizeof *names);
        if (names) p->manifest_names = names;
        char **sums = realloc(p->manifest_sums, (p->n_manifest + 1) * sizeof *sums);
        if (sums) p->manifest_sums = sums;
        if (!names || !sums) {
            fprintf(stderr, "crvsctl migrate: out of memory\n");
            rc = -1;
            break;
        }
        p->manifest_names[p->n_manifest] = strdup(name + 2);
        p->manifest_sums[p->n_manifest] = strdup(line);
        p->n_manifest++;
        if (!p->manifest_names[p->n_manifest - 1] || !p->manifest_sums[p->n_manifest - 1]) {
            fprintf(stderr, "crvsctl migrate: out of memory\n");
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* The digests of each file, computed by PostgreSQL: md5 of the text as the
 * checksum recorded since the first release, sha256 of the bytes as
 * released.sha256 lists them. */
static int digest_files(PGconn *conn, plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        mig *m = &p->m[i];
        const char *params[2] = {m->sql, m->sql};
        int lengths[2] = {0, (int)m->len};
        int formats[2] = {0, 1};
        PGresult *res = PQexecParams(conn, "SELECT md5($1::text), encode(sha256($2::bytea), 'hex')",
                                     2, NULL, params, lengths, formats, 0);
        if (hub_pg_classify(conn, res) != HUB_PG_OK) {
            char err[512];
            hub_pg_error(conn, res, err, sizeof err);
            fprintf(stderr, "crvsctl migrate: %s: digest: %s\n", m->name, err);
            PQclear(res);
            return -1;
        }
        snprintf(m->md5, sizeof m->md5, "%s", PQgetvalue(res, 0, 0));
        snprintf(m->sha256, sizeof m->sha256, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    return 0;
}

/* What the database recorded, when it has crvs.schema_migration. */
static int read_applied(PGconn *conn, plan *p)
{
    PGresult *res = ctl_pg_query(conn, "migrate",
                              "SELECT to_regclass('crvs.schema_migration') IS NOT NULL", 0, NULL);
    if (!res) return -1;
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists) return 0;
    res = ctl_pg_query(conn, "migrate",
                    "SELECT version, checksum, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ') "
                    "FROM crvs.schema_migration ORDER BY version",
                    0, NULL);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *name = PQgetvalue(res, r, 0);
        mig *m = find_mig(p, name);
        if (!m && !(m = add_mig(p, name))) {
            fprintf(stderr, "crvsctl migrate: out of memory\n");
            rc = -1;
            break;
        }
        m->recorded = strdup(PQgetvalue(res, r, 1));
        m->applied_at = strdup(PQgetvalue(res, r, 2));
        if (!m->recorded || !m->applied_at) {
            fprintf(stderr, "crvsctl migrate: out of memory\n");
            rc = -1;
            break;
        }
    }
    PQclear(res);
    return rc;
}

/* States of every file and the refusals, each printed with what to do. */
static void judge(plan *p, FILE *out)
{
    qsort(p->m, p->n, sizeof *p->m, by_name);
    const char *last_applied = NULL;
    for (size_t i = 0; i < p->n; i++) {
        mig *m = &p->m[i];
        if (!m->sql) m->state = MIG_MISSING;
        else if (!m->recorded) m->state = MIG_PENDING;
        else m->state = strcmp(m->recorded, m->md5) ? MIG_CHANGED : MIG_APPLIED;
        if (m->recorded) last_applied = m->name;
    }
    for (size_t j = 0; j < p->n_manifest; j++) {
        mig *m = find_mig(p, p->manifest_names[j]);
        if (m) m->released_sha256 = p->manifest_sums[j];
        if (m) m->reported = !m->sql || strcmp(m->sha256, p->manifest_sums[j]);
        if (!m || !m->sql) {
            fprintf(out, "crvsctl migrate: %s is a released migration (%s) and is missing "
                         "from %s; released files are never removed: restore it as released\n",
                    p->manifest_names[j], MANIFEST, p->dir);
            p->problems++;
        } else if (strcmp(m->sha256, p->manifest_sums[j])) {
            fprintf(out, "crvsctl migrate: %s differs from the released file (%s in %s); "
                         "released migrations are never edited: restore it as released "
                         "(git checkout -- schemas/sql/%s) and put the change in a new "
                         "numbered file\n",
                    m->name, MANIFEST, p->dir, m->name);
            p->problems++;
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        mig *m = &p->m[i];
        if (m->reported) continue; /* said above, as a released file */
        if (m->state == MIG_CHANGED) {
            fprintf(out, "crvsctl migrate: %s was applied to this database on %s and has changed "
                         "since (recorded md5 %s, the file's %s). Migrations are forward only: "
                         "if the file was edited, restore it as it was applied and put the change "
                         "in a new numbered file; if this database was built with an unreleased "
                         "version of the file (development), rebuild it or restore it from a "
                         "backup\n",
                    m->name, m->applied_at, m->recorded, m->md5);
            p->problems++;
        } else if (m->state == MIG_MISSING) {
            fprintf(out, "crvsctl migrate: %s was applied to this database on %s and is not in "
                         "%s: the database is newer than these migrations; use the crvsctl and "
                         "schemas/sql of the release that migrated it\n",
                    m->name, m->applied_at, p->dir);
            p->problems++;
        } else if (m->state == MIG_PENDING && last_applied && strcmp(m->name, last_applied) < 0) {
            fprintf(out, "crvsctl migrate: %s is not applied but sorts before %s, which is: "
                         "migrations apply in order; give the new file a number after the "
                         "last applied one\n",
                    m->name, last_applied);
            p->problems++;
        }
    }
    if (!p->have_manifest)
        fprintf(out, "crvsctl migrate: note: no %s in %s, released files not checked\n", MANIFEST,
                p->dir);
}

static const char *state_name(mig_state s)
{
    switch (s) {
    case MIG_PENDING: return "pending";
    case MIG_APPLIED: return "applied";
    case MIG_CHANGED: return "changed";
    case MIG_MISSING: return "missing";
    }
    return "?";
}

static int print_status(const plan *p)
{
    size_t count[4] = {0};
    for (size_t i = 0; i < p->n; i++) {
        const mig *m = &p->m[i];
        count[m->state]++;
        const char *released = "";
        if (m->released_sha256)
            released = m->sql && !strcmp(m->sha256, m->released_sha256) ? "released"
                                                                         : "released, edited";
        printf("%-8s %-40s %-26s %s\n", state_name(m->state), m->name,
               m->applied_at ? m->applied_at : "-", released);
    }
    printf("migrations: %zu applied, %zu pending, %zu changed, %zu missing%s\n",
           count[MIG_APPLIED], count[MIG_PENDING], count[MIG_CHANGED], count[MIG_MISSING],
           p->problems ? "; refused, see above" : "");
    return p->problems ? CTL_FAILED : CTL_OK;
}

/* 1-based line of a 1-based character position in UTF-8 text. */
static int line_of(const char *text, long position)
{
    int line = 1;
    long chars = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if ((*s & 0xC0) != 0x80 && ++chars >= position) break;
        if (*s == '\n') line++;
    }
    return line;
}

/* A failed statement of a migration, without DETAIL or CONTEXT: those can
 * echo row values (personal data) when a migration moves data. */
static void report_failure(const mig *m, PGconn *conn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    char where[32] = "";
    if (position) snprintf(where, sizeof where, " line %d:", line_of(m->sql, atol(position)));
    if (primary) {
        fprintf(stderr, "crvsctl migrate: %s failed and was rolled back, nothing of it is applied:"
                        "%s sqlstate=%s %s%s%s\n",
                m->name, where, state ? state : "-", primary, hint ? "; hint: " : "",
                hint ? hint : "");
    } else {
        char err[512];
        hub_pg_error(conn, res, err, sizeof err);
        fprintf(stderr, "crvsctl migrate: %s failed, not applied: %s\n", m->name, err);
    }
}

static void rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) == PQTRANS_IDLE) return;
    PGresult *res = PQexec(conn, "ROLLBACK");
    PQclear(res);
}

/* One pending file and its record in one transaction. -1 after saying why;
 * the transaction is then rolled back. */
static int apply_one(PGconn *conn, const mig *m)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ctl_pg_exec(conn, "migrate", "BEGIN") != 0) return -1;
    PGresult *res = PQexec(conn, m->sql);
    if (hub_pg_classify(conn, res) != HUB_PG_OK) {
        report_failure(m, conn, res);
        PQclear(res);
        rollback(conn);
        return -1;
    }
    PQclear(res);
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        fprintf(stderr, "crvsctl migrate: %s ends the transaction itself (a COMMIT, ROLLBACK or "
                        "END outside a function body): what it did before that may be committed "
                        "and is not recorded as applied. Take transaction control out of the file "
                        "and restore the database from the backup taken before the upgrade\n",
                m->name);
        rollback(conn);
        return -1;
    }
    const char *params[2] = {m->name, m->md5};
    res = ctl_pg_query(conn, "migrate",
                    "INSERT INTO crvs.schema_migration (version, checksum) VALUES ($1, $2)", 2,
                    params);
    if (!res) {
        rollback(conn);
        return -1;
    }
    PQclear(res);
    if (ctl_pg_exec(conn, "migrate", "COMMIT") != 0) {
        rollback(conn);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("applied  %s (%.0f ms)\n", m->name,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    fflush(stdout);
    return 0;
}

static void free_plan(plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->m[i].name);
        free(p->m[i].sql);
        free(p->m[i].applied_at);
        free(p->m[i].recorded);
    }
    free(p->m);
    for (size_t j = 0; j < p->n_manifest; j++) {
        free(p->manifest_names[j]);
        free(p->manifest_sums[j]);
    }
    free(p->manifest_names);
    free(p->manifest_sums);
}

int ctl_migrate(ctl *c, int argc, char **argv)
{
    bool status_only = argc > 1 && !strcmp(argv[1], "--status");
    if (argc > 2 || (argc == 2 && !status_only)) {
        fprintf(stderr, "usage: crvsctl migrate [--status]\n");
        return CTL_USAGE;
    }
    plan p = {.dir = hub_config_get(c->cfg, "sql.dir")};
    int status = CTL_FAILED, applied = 0;
    PGconn *conn = NULL;
    if (read_folder(&p) != 0 || read_manifest(&p) != 0) goto out;
    if (!(conn = ctl_pg_connect(c))) goto out;
    if (ctl_pg_exec(conn, "migrate", "SET client_min_messages = warning") != 0) goto out;
    /* Held until the connection ends: the plan stays true while we apply it. */
    if (!status_only) {
        char lock[64];
        snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK);
        if (ctl_pg_exec(conn, "migrate", lock) != 0) goto out;
    }
    if (digest_files(conn, &p) != 0 || read_applied(conn, &p) != 0) goto out;
    judge(&p, status_only ? stdout : stderr);
    if (status_only) {
        status = print_status(&p);
        goto out;
    }
    if (p.problems) {
        fprintf(stderr, "crvsctl migrate: refused (%d problem%s above); nothing was applied\n",
                p.problems, p.problems == 1 ? "" : "s");
        goto out;
    }
    if (ctl_pg_exec(conn, "migrate", "CREATE SCHEMA IF NOT EXISTS crvs") != 0 ||
        ctl_pg_exec(conn, "migrate",
                 "CREATE TABLE IF NOT EXISTS crvs.schema_migration ("
                 "version text PRIMARY KEY, checksum text NOT NULL, "
                 "applied_at timestamptz NOT NULL DEFAULT now(), "
                 "applied_by text NOT NULL DEFAULT current_user)") != 0)
        goto out;
    for (size_t i = 0; i < p.n; i++) {
        if (p.m[i].state != MIG_PENDING) continue;
        if (apply_one(conn, &p.m[i]) != 0) {
            fprintf(stderr, "crvsctl migrate: stopped at %s; %d file%s applied before it stay "
                            "applied; the files after it were not tried\n",
                    p.m[i].name, applied, applied == 1 ? "" : "s");
            goto out;
        }
        applied++;
    }
    printf("migrations: %zu known, %d applied now\n", p.n, applied);
    status = CTL_OK;
out:
    if (conn) PQfinish(conn);
    free_plan(&p);
    return status;
}
