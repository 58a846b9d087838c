/*
 * tag_two_threads.c - attntag as a library: one model, loaded once, shared by
 * two threads, each tagging its own text with its own tagger.
 *
 *     cc tag_two_threads.c $(pkg-config --cflags --libs attntag) -o tag_two_threads
 *     ./tag_two_threads /usr/local/share/attntag/en-ewt.safetensors
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen, open_memstream */
#include <attntag.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    const at_model *m;
    const char *text; /* one sentence per line, tokens separated by spaces */
    char *out;        /* word_TAG lines */
    size_t len;
    int rc;
    at_error err;
} job;

static void *tag_text(void *arg)
{
    job *j = arg;
    at_tagger_opts o;
    memset(&o, 0, sizeof o);
    o.in = AT_IN_LINES;
    o.threads = 1;
    o.wo.format = AT_OUT_WORDTAG;
    o.wo.n_sel = 1; /* the model's first tag set */
    at_tagger *t = NULL;
    long long tokens = 0;
    FILE *in = fmemopen((void *)j->text, strlen(j->text), "r");
    FILE *out = open_memstream(&j->out, &j->len);
    j->rc = !in || !out || at_tagger_new(j->m, &o, &t, &j->err) ||
            at_tagger_run(t, in, "text", out, &tokens, &j->err);
    at_tagger_free(t);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 1;
    }
    at_error err;
    at_model *m;
    if (at_model_load(argv[1], AT_FILE_AUTO, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    job jobs[2] = {{.m = m, .text = "The quick brown fox jumps over the lazy dog .\n"},
                   {.m = m, .text = "I saw her duck .\n"}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, tag_text, &jobs[i]);
    int status = 0;
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc) {
            fprintf(stderr, "thread %d: %s\n", i, jobs[i].err.msg[0] ? jobs[i].err.msg
                                                                : "out of memory");
            status = 2;
        } else {
            fwrite(jobs[i].out, 1, jobs[i].len, stdout);
        }
        free(jobs[i].out);
    }
    at_model_free(m);
    return status;
}
