/*
 * fileio.c - whole-file reads and safe writes, with errors that name the file.
 *
 * Output paths are the user's. A regular file (or a path not there yet) is
 * written to a temporary file beside it and renamed over it only when
 * complete, so an interrupted run never leaves half a file under the final
 * name; the new file keeps the old one's permission bits. A symbolic link is
 * followed and its target replaced so, in the target's directory. A device,
 * FIFO or socket is written in place: renaming over it would replace the node
 * itself (as root, `/dev/null` for the whole machine).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int at_read_file(const char *path, char **data, size_t *len, at_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return at_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            fclose(fp);
            return at_error_of(err, AT_ERR_MEMORY, "%s: out of memory", path);
        }
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return at_error_set(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

struct at_outfile {
    FILE *fp;
    char *name;  /* the path as the user gave it, for messages */
    char *final; /* where the bytes end up: name with its links followed */
    char *tmp;   /* the temporary beside final; NULL when written in place */
};

/* The longest chain of symbolic links followed, as the kernel's ELOOP limit. */
enum { MAX_LINKS = 40 };

/* dir_of: the directory part of path ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* read_link: the target of the link at path, malloc'd; NULL with errno set. */
static char *read_link(const char *path)
{
    for (size_t cap = 256;; cap *= 2) {
        char *t = malloc(cap);
        if (!t)
            return NULL;
        ssize_t n = readlink(path, t, cap);
        if (n < 0) {
            free(t);
            return NULL;
        }
        if ((size_t)n < cap) {
            t[n] = '\0';
            return t;
        }
        free(t);
    }
}

/* follow: path with its symbolic links followed (a relative target is taken
 * from the link's directory); st gets the final path's lstat, or st_mode 0
 * if it does not exist yet. */
static int follow(const char *name, char **out, struct stat *st, at_error *err)
{
    char *p = strdup(name);
    for (int hops = 0; p; hops++) {
        if (lstat(p, st) != 0) {
            if (errno != ENOENT) {
                at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: %s", name, strerror(errno));
                free(p);
                return -1;
            }
            st->st_mode = 0;
        }
        if (!S_ISLNK(st->st_mode)) {
            *out = p;
            return 0;
        }
        if (hops == MAX_LINKS) {
            free(p);
            return at_error_of(err, AT_ERR_OUTPUT,
                               "%s: cannot write: more than %d symbolic links", name,
                                MAX_LINKS);
        }
        char *target = read_link(p);
        if (!target) {
            at_error_of(err, AT_ERR_OUTPUT, "%s: cannot read the link %s: %s", name, p,
                        strerror(errno));
            free(p);
            return -1;
        }
        char *next = NULL;
        if (target[0] == '/') {
            next = target;
            target = NULL;
        } else {
            char *dir = dir_of(p);
            size_t n = (dir ? strlen(dir) : 0) + strlen(target) + 2;
            if (dir && (next = malloc(n)))
                snprintf(next, n, "%s/%s", dir, target);
            free(dir);
        }
        free(target);
        free(p);
        p = next;
    }
    return at_error_of(err, AT_ERR_MEMORY, "%s: out of memory", name);
}

static void outfile_free(at_outfile *o)
{
    free(o->name);
    free(o->final);
    free(o->tmp);
    free(o);
}

/* prepare: o->final and whether it is written in place. Non-regular targets
 * are found with stat, which follows every link the kernel does (also the
 * /proc links behind /dev/stdout, which name no path); a regular file or a
 * path not there yet by following the links by hand, since the rename needs
 * the final path even when a link dangles. */
static int prepare(at_outfile *o, struct stat *st, int *in_place, at_error *err)
{
    *in_place = 0;
    if (stat(o->name, st) == 0 && !S_ISREG(st->st_mode)) {
        if (S_ISDIR(st->st_mode))
            return at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: is a directory", o->name);
        *in_place = 1; /* device, FIFO, socket */
        return (o->final = strdup(o->name))
                   ? 0 : at_error_of(err, AT_ERR_MEMORY, "%s: out of memory", o->name);
    }
    if (follow(o->name, &o->final, st, err))
        return -1;
    if (st->st_mode && !S_ISREG(st->st_mode)) /* changed under us */
        return at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: not a regular file any more",
                           o->name);
    return 0;
}

/* create_tmp: the temporary beside o->final, with the replaced file's mode. */
static int create_tmp(at_outfile *o, const struct stat *st, at_error *err)
{
    size_t n = strlen(o->final) + 32;
    if (!(o->tmp = malloc(n)))
        return at_error_of(err, AT_ERR_MEMORY, "%s: out of memory", o->name);
    /* O_EXCL: never open a name that someone else made; 0666 lets the umask
     * decide a new file's mode, as for any file the user creates */
    static atomic_uint serial; /* writers on several threads never share a name */
    int fd;
    do
        snprintf(o->tmp, n, "%s.tmp%ld-%u", o->final, (long)getpid(),
                 atomic_fetch_add(&serial, 1));
    while ((fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0 &&
           errno == EEXIST);
    if (fd < 0) {
        char *dir = dir_of(o->final);
        at_error_of(err, AT_ERR_OUTPUT, "%s: cannot create a file in %s: %s", o->name,
                     dir ? dir : "its directory", strerror(errno));
        free(dir);
        return -1;
    }
    /* the replaced file keeps its permission bits, and its owner where the
     * writer may give it away (root may; others get EPERM and the file
     * becomes theirs, as cp makes it) */
    if (st->st_mode && (((st->st_uid != geteuid() || st->st_gid != getegid()) &&
                         fchown(fd, st->st_uid, st->st_gid) != 0 && errno != EPERM) ||
                        fchmod(fd, st->st_mode & 07777) != 0)) {
        at_error_of(err, AT_ERR_OUTPUT, "%s: cannot keep the owner and mode in %s: %s", o->name,
                    o->tmp,
                     strerror(errno));
        close(fd);
        unlink(o->tmp);
        return -1;
    }
    return fd;
}

static at_outfile *outfile_new(const char *path, at_error *err)
{
    at_outfile *o = calloc(1, sizeof *o);
    if (!o || !(o->name = strdup(path))) {
        free(o);
        at_error_of(err, AT_ERR_MEMORY, "%s: out of memory", path);
        return NULL;
    }
    return o;
}

int at_outfile_open(const char *path, at_outfile **out, at_error *err)
{
    *out = NULL;
    at_outfile *o = outfile_new(path, err);
    struct stat st;
    int in_place, fd = -1;
    if (!o || prepare(o, &st, &in_place, err)) {
        if (o)
            outfile_free(o);
        return -1;
    }
    if (in_place && (fd = open(o->final, O_WRONLY | O_CLOEXEC)) < 0)
        at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: %s", path, strerror(errno));
    else if (!in_place)
        fd = create_tmp(o, &st, err);
    if (fd >= 0 && !(o->fp = fdopen(fd, "wb"))) {
        at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        if (o->tmp)
            unlink(o->tmp);
    }
    if (!o->fp) {
        outfile_free(o);
        return -1;
    }
    *out = o;
    return 0;
}

FILE *at_outfile_stream(at_outfile *o)
{
    return o->fp;
}

int at_outfile_commit(at_outfile *o, at_error *err)
{
    int ok = !ferror(o->fp) && fflush(o->fp) == 0;
    int e = errno;
    if (ok && o->tmp && fsync(fileno(o->fp)) != 0) {
        ok = 0;
        e = errno;
    }
    if (fclose(o->fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && o->tmp && rename(o->tmp, o->final) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: %s", o->name,
                    e ? strerror(e) : "write error");
        if (o->tmp)
            unlink(o->tmp);
    }
    outfile_free(o);
    return ok ? 0 : -1;
}

void at_outfile_abort(at_outfile *o)
{
    if (!o)
        return;
    fclose(o->fp);
    if (o->tmp)
        unlink(o->tmp);
    outfile_free(o);
}

int at_outfile_check(const char *path, at_error *err)
{
    at_outfile *o = outfile_new(path, err);
    struct stat st;
    int in_place, rc = -1;
    if (o && prepare(o, &st, &in_place, err) == 0) {
        /* a FIFO is not opened: that would wait for, and then end, its reader */
        if (in_place && access(o->final, W_OK) != 0)
            at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: %s", path, strerror(errno));
        else if (in_place || (rc = create_tmp(o, &st, err)) >= 0) {
            if (rc >= 0) {
                close(rc);
                unlink(o->tmp);
            }
            rc = 0;
        }
    }
    if (o)
        outfile_free(o);
    return rc;
}

int at_write_atomic(const char *path, const void *data, size_t len, at_error *err)
{
    at_outfile *o;
    if (at_outfile_open(path, &o, err))
        return -1;
    if (fwrite(data, 1, len, o->fp) != len) {
        int e = errno;
        at_outfile_abort(o);
        return at_error_of(err, AT_ERR_OUTPUT, "%s: cannot write: %s", path, strerror(e));
    }
    return at_outfile_commit(o, err);
}
